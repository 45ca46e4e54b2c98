namespace Nucleon.Pipes;

/// <summary>
/// A consumer fell so far behind that its inbox and overflow were full: the client cancelled that
/// consumer (basic.cancel) instead of letting it stall the connection, which serves every channel.
/// The consume loop first gets every message received before this, then this error. Only consumers
/// the broker does not bound overflow (auto-ack, or prefetch 0); with manual acknowledgement the
/// messages that did not fit went back to the queue, with auto-ack they are lost (the broker
/// counted them as delivered). Use manual acks with a prefetch, or a larger
/// <see cref="ConsumeOptions.MaxOverflowBytes"/>, for a consumer that may be slow.
/// </summary>
public sealed class AmqpConsumerOverflowException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpConsumerOverflowException(string consumerTag, bool autoAck, int waiting, long maxOverflowBytes)
        : base($"Consumer '{consumerTag}' could not keep up: {waiting} messages were waiting for the consume loop, past its inbox more than MaxOverflowBytes ({maxOverflowBytes} bytes), so it was cancelled. "
            + (autoAck
                ? "It used auto-ack: messages that arrived after this point were lost (the broker counted them as delivered)."
                : "Messages that arrived after this point went back to the queue."))
    {
        ConsumerTag = consumerTag;
        AutoAck = autoAck;
        Waiting = waiting;
        MaxOverflowBytes = maxOverflowBytes;
    }

    /// <summary>The cancelled consumer's tag.</summary>
    public string ConsumerTag { get; }

    /// <summary>Whether the consumer used auto-ack (then messages past the limit were lost).</summary>
    public bool AutoAck { get; }

    /// <summary>How many messages were waiting for the consume loop (inbox plus overflow) when it was cancelled.</summary>
    public int Waiting { get; }

    /// <summary>The consumer's <see cref="ConsumeOptions.MaxOverflowBytes"/>.</summary>
    public long MaxOverflowBytes { get; }
}
