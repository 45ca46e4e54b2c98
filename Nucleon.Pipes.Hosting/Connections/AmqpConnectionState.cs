namespace Nucleon.Pipes.Hosting.Connections;

/// <summary>Where a hosted connection stands, as the health check reports it.</summary>
internal enum AmqpConnectionState
{
    /// <summary>The host has not started it, or it is making its first connection.</summary>
    Starting,

    /// <summary>Connected, hooks done, not blocked.</summary>
    Connected,

    /// <summary>Lost and trying to reconnect.</summary>
    Reconnecting,

    /// <summary>The broker blocks publishing (resource alarm).</summary>
    Blocked,

    /// <summary>Ended by a failure retrying cannot fix (credentials, vhost, TLS, start-up timeout).</summary>
    Failed,

    /// <summary>Closed by the host's shutdown.</summary>
    Closed,
}
