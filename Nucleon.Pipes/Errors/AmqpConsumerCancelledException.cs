namespace Nucleon.Pipes;

/// <summary>
/// The broker cancelled a consumer (basic.cancel from the server: its queue was deleted, or the
/// node holding it failed). The consume loop ends with this exception.
/// </summary>
public sealed class AmqpConsumerCancelledException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpConsumerCancelledException(string consumerTag)
        : base($"The broker cancelled consumer \"{consumerTag}\" (its queue was deleted or became unavailable).") => ConsumerTag = consumerTag;

    /// <summary>The cancelled consumer's tag.</summary>
    public string ConsumerTag { get; }
}
