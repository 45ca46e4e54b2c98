namespace Nucleon.Pipes;

/// <summary><see cref="AmqpConnection.Blocked"/>: the broker blocks publishing on the connection (a resource alarm).</summary>
public sealed class AmqpBlockedEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public AmqpBlockedEventArgs(AmqpEndpoint endpoint, int generation, string reason)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(reason);
        Endpoint = endpoint;
        Generation = generation;
        Reason = reason;
    }

    /// <summary>The broker node that blocked the connection.</summary>
    public AmqpEndpoint Endpoint { get; }

    /// <summary>The generation of the blocked connection.</summary>
    public int Generation { get; }

    /// <summary>The broker's reason, e.g. "low on memory".</summary>
    public string Reason { get; }
}
