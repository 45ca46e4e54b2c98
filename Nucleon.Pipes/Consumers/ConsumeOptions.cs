namespace Nucleon.Pipes;

/// <summary>How a consumer subscribes (basic.qos and basic.consume).</summary>
public sealed record ConsumeOptions
{
    /// <summary>Defaults: prefetch 100, manual acknowledgement.</summary>
    public static ConsumeOptions Default { get; } = new();

    /// <summary>
    /// Most unacknowledged messages the broker sends this consumer (basic.qos per consumer). 0 means
    /// no limit. The consumer's inbox is sized to the prefetch, so the broker never overfills it.
    /// Default 100.
    /// </summary>
    public ushort Prefetch { get; init; } = 100;

    /// <summary>
    /// Let the broker consider messages acknowledged as soon as it sends them (no-ack). Fast, but a
    /// crash loses what was in flight. Default false.
    /// </summary>
    public bool AutoAck { get; init; }

    /// <summary>Only this consumer may consume from the queue.</summary>
    public bool Exclusive { get; init; }

    /// <summary>Consumer tag; generated when null.</summary>
    public string? ConsumerTag { get; init; }

    /// <summary>Extra basic.consume arguments (e.g. x-priority).</summary>
    public IDictionary<string, object?>? Arguments { get; init; }

    /// <summary>
    /// For a stream queue: where to start reading (sent as <c>x-stream-offset</c>, overriding one in
    /// <see cref="Arguments"/>). Streams need manual acknowledgement and a <see cref="Prefetch"/> above 0.
    /// A connection-level consumer (<see cref="AmqpConnection.ConsumeAsync"/>) given one resumes after a
    /// reconnect at the first offset it handed out and has not settled (from this offset again while it
    /// has handed out nothing), instead of starting here again.
    /// </summary>
    public StreamOffset? StreamOffset { get; init; }

    /// <summary>
    /// Capacity of the inbox between the connection's reader and the consume loop when
    /// <see cref="Prefetch"/> is 0 or <see cref="AutoAck"/> is on (the broker does not bound those).
    /// Default 1024.
    /// </summary>
    public int InboxCapacity { get; init; } = 1024;

    /// <summary>
    /// How far a consumer the broker does not bound (auto-ack, or prefetch 0) may fall behind past its
    /// inbox, in bytes: message bodies plus 256 bytes per message. The connection's reader never waits
    /// for a consume loop (it serves every channel and the heartbeat), so past the inbox messages queue in
    /// an overflow; when it holds more than this, the consumer alone is cancelled and its loop ends with
    /// <see cref="AmqpConsumerOverflowException"/> after the messages it already received. 0 means no
    /// overflow. Default 64 MiB (about 230,000 small messages).
    /// </summary>
    public long MaxOverflowBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Internal (the RPC client's reply consumer, the RPC server's request consumer): properties without headers are
    /// kept as received and decoded only when read, so a reader that needs only the correlation id and reply-to makes no strings.
    /// </summary>
    internal bool KeepRawProperties { get; init; }
}
