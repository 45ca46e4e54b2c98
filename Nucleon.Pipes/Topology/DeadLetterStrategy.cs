namespace Nucleon.Pipes;

/// <summary>How a quorum queue dead-letters (<c>x-dead-letter-strategy</c>).</summary>
public enum DeadLetterStrategy
{
    /// <summary>Fire and forget: a dead-lettered message can be lost on the way (RabbitMQ's default).</summary>
    AtMostOnce,

    /// <summary>
    /// The queue keeps a dead-lettered message until the target queue confirmed it. RabbitMQ requires
    /// the queue's overflow to be <c>reject-publish</c> for this (see <see cref="QuorumQueueOptions.RejectPublishWhenFull"/>).
    /// </summary>
    AtLeastOnce,
}
