namespace Nucleon.Pipes;

/// <summary>
/// Typed arguments of a quorum queue (<c>x-queue-type: quorum</c>), for
/// <see cref="QueueDeclareExtensions.QueueDeclareQuorumAsync"/>. Unset properties are left to the broker.
/// </summary>
public sealed record QuorumQueueOptions
{
    /// <summary>After this many failed deliveries (nack or reject with requeue, or a consumer that went) the message is dead-lettered or dropped (<c>x-delivery-limit</c>).</summary>
    public int? DeliveryLimit { get; init; }

    /// <summary>Where dead-lettered messages go (<c>x-dead-letter-exchange</c>; "" is the default exchange).</summary>
    public string? DeadLetterExchange { get; init; }

    /// <summary>The routing key they go with (<c>x-dead-letter-routing-key</c>; else their own).</summary>
    public string? DeadLetterRoutingKey { get; init; }

    /// <summary>How they are dead-lettered (<c>x-dead-letter-strategy</c>).</summary>
    public DeadLetterStrategy? DeadLetterStrategy { get; init; }

    /// <summary>How many cluster nodes hold a replica at first (<c>x-quorum-initial-group-size</c>).</summary>
    public int? InitialGroupSize { get; init; }

    /// <summary>Most messages the queue holds (<c>x-max-length</c>).</summary>
    public long? MaxLength { get; init; }

    /// <summary>Most bytes of message bodies the queue holds (<c>x-max-length-bytes</c>).</summary>
    public long? MaxLengthBytes { get; init; }

    /// <summary>When full, refuse new messages (nack to a confirming publisher) instead of dropping the oldest (<c>x-overflow: reject-publish</c>).</summary>
    public bool RejectPublishWhenFull { get; init; }

    /// <summary>The queue.declare arguments these options stand for.</summary>
    public Dictionary<string, object?> ToArguments()
    {
        var arguments = new Dictionary<string, object?> { ["x-queue-type"] = "quorum" };
        Put(arguments, "x-delivery-limit", DeliveryLimit);
        Put(arguments, "x-dead-letter-exchange", DeadLetterExchange);
        Put(arguments, "x-dead-letter-routing-key", DeadLetterRoutingKey);
        if (DeadLetterStrategy is { } strategy)
        {
            arguments["x-dead-letter-strategy"] = strategy == Pipes.DeadLetterStrategy.AtLeastOnce ? "at-least-once" : "at-most-once";
        }

        Put(arguments, "x-quorum-initial-group-size", InitialGroupSize);
        Put(arguments, "x-max-length", MaxLength);
        Put(arguments, "x-max-length-bytes", MaxLengthBytes);
        if (RejectPublishWhenFull)
        {
            arguments["x-overflow"] = "reject-publish";
        }

        return arguments;
    }

    internal static void Put<T>(Dictionary<string, object?> arguments, string key, T? value)
    {
        if (value is not null)
        {
            arguments[key] = value;
        }
    }
}
