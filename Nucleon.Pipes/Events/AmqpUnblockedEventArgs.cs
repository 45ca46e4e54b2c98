namespace Nucleon.Pipes;

/// <summary>
/// <see cref="AmqpConnection.Unblocked"/>: the connection is no longer blocked, because the broker said so or because
/// the blocked connection ended (every <see cref="AmqpConnection.Blocked"/> is followed by one
/// <see cref="AmqpConnection.Unblocked"/>; a new connection starts unblocked).
/// </summary>
public sealed class AmqpUnblockedEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public AmqpUnblockedEventArgs(AmqpEndpoint endpoint, int generation, TimeSpan blockedFor, bool connectionEnded)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Endpoint = endpoint;
        Generation = generation;
        BlockedFor = blockedFor;
        ConnectionEnded = connectionEnded;
    }

    /// <summary>The broker node of the connection.</summary>
    public AmqpEndpoint Endpoint { get; }

    /// <summary>The generation of the connection that was blocked.</summary>
    public int Generation { get; }

    /// <summary>How long the connection was blocked.</summary>
    public TimeSpan BlockedFor { get; }

    /// <summary>True when the connection ended while blocked (the broker never unblocked it); false for the broker's connection.unblocked.</summary>
    public bool ConnectionEnded { get; }
}
