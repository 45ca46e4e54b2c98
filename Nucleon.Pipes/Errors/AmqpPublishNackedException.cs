namespace Nucleon.Pipes;

/// <summary>The broker answered a confirmed publish with basic.nack: it did not take responsibility for the message.</summary>
public sealed class AmqpPublishNackedException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpPublishNackedException(ulong sequenceNumber)
        : base($"The broker nacked publish #{sequenceNumber}; the message was not accepted and may be republished.") => SequenceNumber = sequenceNumber;

    /// <summary>The publish sequence number (confirm delivery tag) that was nacked.</summary>
    public ulong SequenceNumber { get; }
}
