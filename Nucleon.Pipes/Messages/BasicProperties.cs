namespace Nucleon.Pipes;

/// <summary>
/// The 14 basic properties of an AMQP message (spec class 60). A property that is null is absent
/// on the wire; a property set to zero or the empty string is present with that value.
/// Instances are immutable once built (use an object initializer or <c>with</c>), so one
/// instance can be shared by many publishes; the <see cref="Headers"/> table is not copied.
/// </summary>
public sealed record BasicProperties
{
    /// <summary>A shared instance with no property set.</summary>
    public static BasicProperties Empty { get; } = new();

    /// <summary>MIME content type, e.g. "application/json".</summary>
    public string? ContentType { get; init; }

    /// <summary>MIME content encoding, e.g. "gzip".</summary>
    public string? ContentEncoding { get; init; }

    /// <summary>Application headers: a field table (see the README for the value types).</summary>
    public IDictionary<string, object?>? Headers { get; init; }

    /// <summary>1 = transient, 2 = persistent (see <see cref="Nucleon.Pipes.DeliveryMode"/>).</summary>
    public DeliveryMode? DeliveryMode { get; init; }

    /// <summary>Message priority, 0 to 9 (RabbitMQ honours up to the queue's x-max-priority).</summary>
    public byte? Priority { get; init; }

    /// <summary>Application correlation identifier, e.g. for RPC replies.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>The queue that replies should be sent to.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>Per-message TTL in milliseconds, as a decimal string (RabbitMQ's convention).</summary>
    public string? Expiration { get; init; }

    /// <summary>Application message identifier.</summary>
    public string? MessageId { get; init; }

    /// <summary>Message timestamp (whole seconds since the Unix epoch on the wire).</summary>
    public AmqpTimestamp? Timestamp { get; init; }

    /// <summary>Message type name.</summary>
    public string? Type { get; init; }

    /// <summary>Creating user id; RabbitMQ checks it against the connection's user.</summary>
    public string? UserId { get; init; }

    /// <summary>Creating application id.</summary>
    public string? AppId { get; init; }

    /// <summary>Reserved by the spec ("cluster-id"); RabbitMQ passes it through.</summary>
    public string? ClusterId { get; init; }

    /// <summary>True when no property is set.</summary>
    internal bool IsEmpty =>
        ContentType is null && ContentEncoding is null && Headers is null && DeliveryMode is null && Priority is null
        && CorrelationId is null && ReplyTo is null && Expiration is null && MessageId is null && Timestamp is null
        && Type is null && UserId is null && AppId is null && ClusterId is null;
}
