namespace Nucleon.Pipes.Hosting;

/// <summary>What a hosted consumer does with a message whose handler threw.</summary>
public enum AmqpFailurePolicy
{
    /// <summary>basic.nack without requeue: the queue's dead-letter exchange gets it, or the broker drops it.</summary>
    DeadLetter,

    /// <summary>
    /// basic.nack with requeue while the message has been delivered fewer than
    /// <see cref="AmqpConsumerOptions.MaxRedeliveries"/> times before, then as <see cref="DeadLetter"/>.
    /// The count is the <c>x-delivery-count</c> header (quorum queues); where the broker does not set it
    /// (classic queues) a redelivered message counts as delivered once before.
    /// </summary>
    Requeue,
}
