namespace Nucleon.Pipes;

/// <summary>
/// <see cref="AmqpConnection.ConnectionLost"/>: an established connection ended without the application closing
/// it, and an outage began. Raised once per outage; the attempts to reconnect go to the log, not to events.
/// </summary>
public sealed class AmqpConnectionLostEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public AmqpConnectionLostEventArgs(AmqpEndpoint endpoint, int generation, Exception cause, bool willReconnect)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(cause);
        Endpoint = endpoint;
        Generation = generation;
        Cause = cause;
        WillReconnect = willReconnect;
    }

    /// <summary>The broker node the lost connection was connected to.</summary>
    public AmqpEndpoint Endpoint { get; }

    /// <summary>The generation of the lost connection (<see cref="AmqpConnection.Generation"/> while it was up).</summary>
    public int Generation { get; }

    /// <summary>
    /// Why it ended: an <see cref="AmqpConnectionException"/> when the broker closed it with a reply code
    /// (e.g. 320 CONNECTION_FORCED), else an <see cref="AmqpConnectionLostException"/> (socket closed, missed heartbeats).
    /// </summary>
    public Exception Cause { get; }

    /// <summary>The reply code of the connection.close that ended it (the broker's, or this client's for malformed input), else null.</summary>
    public ushort? ReplyCode => (Cause as AmqpReplyException)?.ReplyCode;

    /// <summary>False when <see cref="AmqpConnectionOptions.AutomaticReconnect"/> is off: the connection has ended for good.</summary>
    public bool WillReconnect { get; }
}
