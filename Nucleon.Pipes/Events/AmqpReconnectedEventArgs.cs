namespace Nucleon.Pipes;

/// <summary>
/// <see cref="AmqpConnection.Reconnected"/>: the outage that <see cref="AmqpConnection.ConnectionLost"/> announced is
/// over: a new connection is up and its on-connect hooks have run.
/// </summary>
public sealed class AmqpReconnectedEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public AmqpReconnectedEventArgs(AmqpEndpoint endpoint, int generation, TimeSpan outage, int failedAttempts)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Endpoint = endpoint;
        Generation = generation;
        Outage = outage;
        FailedAttempts = failedAttempts;
    }

    /// <summary>The broker node the new connection is connected to.</summary>
    public AmqpEndpoint Endpoint { get; }

    /// <summary>The new connection's generation (what <see cref="AmqpConnection.Generation"/> now says).</summary>
    public int Generation { get; }

    /// <summary>From the loss to the new connection's hooks having run.</summary>
    public TimeSpan Outage { get; }

    /// <summary>Attempts that failed during the outage (refused, timed out, hooks that threw); the log has each one.</summary>
    public int FailedAttempts { get; }
}
