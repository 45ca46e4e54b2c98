namespace Nucleon.Pipes;

/// <summary>
/// The connection that an operation was running on was lost (socket error, heartbeat timeout,
/// server close). The operation's outcome is unknown: a publish that fails with this was not
/// confirmed and should be republished.
/// </summary>
public sealed class AmqpConnectionLostException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpConnectionLostException(string message, Exception? innerException = null) : base(message, innerException) { }
}
