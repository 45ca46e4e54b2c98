namespace Nucleon.Pipes;

/// <summary>The channel was closed by the application (or returned to its pool) and can no longer be used.</summary>
public sealed class AmqpChannelClosedException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpChannelClosedException(string message) : base(message) { }
}
