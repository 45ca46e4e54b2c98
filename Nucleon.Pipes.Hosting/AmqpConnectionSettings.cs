namespace Nucleon.Pipes.Hosting;

/// <summary>
/// How a hosted connection is made and started. Bind it from configuration
/// (<see cref="AmqpConnectionBuilder.BindConfiguration"/>) or set it in code
/// (<see cref="AmqpConnectionBuilder.Configure"/>); it is validated when the host starts.
/// </summary>
public sealed class AmqpConnectionSettings
{
    /// <summary>
    /// The AMQP URI, e.g. <c>amqp://user:pass@host:5672/vhost?heartbeat=30</c> (see the Nucleon.Pipes README).
    /// When not set, <c>ConnectionStrings:&lt;connection name&gt;</c> from the application's configuration is used.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The brokers to connect to, tried in turn, instead of the URI's hosts (configuration keys
    /// <c>Endpoints:0:Host</c>, <c>Endpoints:0:Port</c>, ...). With endpoints and no URI, every other
    /// option keeps its default unless set here or in <see cref="ConfigureOptions"/>.
    /// </summary>
    public AmqpEndpoint[]? Endpoints { get; set; }

    /// <summary>The user name, instead of the URI's.</summary>
    public string? UserName { get; set; }

    /// <summary>The password, instead of the URI's: it can stay out of the URI (e.g. bound from a secret store).</summary>
    public string? Password { get; set; }

    /// <summary>The virtual host, instead of the URI's.</summary>
    public string? VirtualHost { get; set; }

    /// <summary>The connection name shown in the broker's management UI; the URI's <c>connection_name</c> when not set.</summary>
    public string? ClientProvidedName { get; set; }

    /// <summary>
    /// When true (default), the host's start-up waits for the first connection (and its on-connect
    /// hooks), at most <see cref="StartupTimeout"/>, and fails the start if it does not come up. When false,
    /// the host starts at once and the connection keeps trying in the background (see the health check).
    /// </summary>
    public bool WaitForConnectionAtStartup { get; set; } = true;

    /// <summary>How long start-up waits for the first connection when <see cref="WaitForConnectionAtStartup"/> is on. Default 30 s.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Adjusts the <see cref="AmqpConnectionOptions"/> parsed from the URI before the connection is
    /// created (TLS, limits, reconnect delays); code only, not bound from configuration.
    /// </summary>
    public Func<AmqpConnectionOptions, AmqpConnectionOptions>? ConfigureOptions { get; set; }

    /// <summary>The connection options these settings describe.</summary>
    /// <exception cref="UriFormatException">The URI is malformed (the message never holds the password).</exception>
    internal AmqpConnectionOptions BuildOptions()
    {
        var options = !string.IsNullOrWhiteSpace(ConnectionString) ? AmqpConnectionOptions.Parse(ConnectionString)
            : Endpoints is { Length: > 0 } ? new AmqpConnectionOptions()
            : throw new InvalidOperationException("No AMQP connection string or endpoints are set.");
        options = options with
        {
            Endpoints = Endpoints is { Length: > 0 } ? [.. Endpoints] : options.Endpoints,
            UserName = UserName ?? options.UserName,
            Password = Password ?? options.Password,
            VirtualHost = VirtualHost ?? options.VirtualHost,
            ClientProvidedName = string.IsNullOrEmpty(ClientProvidedName) ? options.ClientProvidedName : ClientProvidedName,
        };

        // Waiting at start-up is bounded by StartupTimeout; a background start keeps trying until the host stops.
        options = options with { InitialConnectTimeout = WaitForConnectionAtStartup ? StartupTimeout : Timeout.InfiniteTimeSpan };
        return ConfigureOptions is null ? options : ConfigureOptions(options);
    }
}
