using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes;

/// <summary>
/// Everything an <see cref="AmqpConnection"/> needs to know. Immutable: build one with an object
/// initializer, from a URI with <see cref="Parse"/>, and vary it with <c>with</c>.
/// </summary>
public sealed record AmqpConnectionOptions
{
    /// <summary>The default AMQP port.</summary>
    internal const int DefaultPort = 5672;

    /// <summary>The default AMQP-over-TLS port.</summary>
    internal const int DefaultTlsPort = 5671;

    /// <summary>Client properties the client sets itself (see <see cref="ClientProperties"/>).</summary>
    internal static readonly HashSet<string> ReservedClientProperties =
        new(StringComparer.Ordinal) { "product", "version", "platform", "information", "capabilities", "connection_name" };

    // The default's own instance: Microsoft.Extensions.Configuration's binder appends configured items to the list
    // it finds and sets a new array, so an array that starts with this very object is the default followed by the
    // configured ones. Lists an application builds (collection expressions, List<T>) are taken as they are; only an
    // array that starts with this instance, as the binder makes, loses it (ToArray() of the default plus more would too).
    private static readonly AmqpEndpoint DefaultEndpoint = new("localhost", DefaultPort);
    private readonly IReadOnlyList<AmqpEndpoint> _endpoints = [DefaultEndpoint];

    /// <summary>
    /// Brokers to connect to, tried in turn (cluster nodes). Default: localhost:5672. A list bound from
    /// configuration replaces the default (it is not added to it).
    /// </summary>
    public IReadOnlyList<AmqpEndpoint> Endpoints
    {
        get => _endpoints;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            _endpoints = value is AmqpEndpoint[] { Length: > 1 } bound && ReferenceEquals(bound[0], DefaultEndpoint) ? bound[1..] : value;
        }
    }

    /// <summary>User name. Default "guest".</summary>
    public string UserName { get; init; } = "guest";

    /// <summary>Password. Never shown by <see cref="ToString"/> or in exception messages. Default "guest".</summary>
    public string Password { get; init; } = "guest";

    /// <summary>Virtual host. Default "/".</summary>
    public string VirtualHost { get; init; } = "/";

    /// <summary>True for amqps:// (TLS).</summary>
    public bool UseTls { get; init; }

    /// <summary>TLS settings used when <see cref="UseTls"/> is on. Default: validate the chain and host name against the system store.</summary>
    public AmqpTlsOptions Tls { get; init; } = new(); // its own: the configuration binder binds into the instance it finds

    /// <summary>
    /// Heartbeat interval the client asks for; the lower of this and the broker's value is used
    /// (zero on either side disables heartbeats). AMQP negotiates whole seconds, so a fraction is rounded
    /// up (500 ms asks for 1 s, 1.5 s for 2 s). The connection is declared dead after two
    /// intervals without a byte from the broker. Default 60 s.
    /// </summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Largest frame the client accepts, in bytes (0 = no limit). Negotiated down to the broker's. Default 128 KiB.</summary>
    public uint FrameMax { get; init; } = 131_072;

    /// <summary>Most channels the client wants (0 = no limit, i.e. 65535). Negotiated down to the broker's. Default 2047.</summary>
    public ushort ChannelMax { get; init; } = 2047;

    /// <summary>Time allowed for the TCP connect (name resolution included) of one attempt. Default 30 s.</summary>
    public TimeSpan ConnectionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Time allowed, once TCP is connected, for the TLS handshake (with amqps://) and the AMQP handshake
    /// up to connection.open-ok, so a server that accepts connections but never answers is given up on
    /// early. A timeout is transient: the next endpoint is tried. The <see cref="TimeoutException"/> names
    /// the stage (TLS, or the AMQP method that was awaited). Default 10 s.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>SASL mechanism: PLAIN (default), AMQPLAIN, or EXTERNAL (identity from the TLS client certificate).</summary>
    public string AuthMechanism { get; init; } = "PLAIN";

    /// <summary>A name shown in the broker's management UI and logs (client property connection_name).</summary>
    public string? ClientProvidedName { get; init; }

    /// <summary>
    /// More client properties for the broker to show beside the connection (the management UI's "client
    /// properties"; <c>rabbitmqctl list_connections client_properties</c>), e.g. the service and its version.
    /// Values are field-table values (strings, numbers, booleans, nested tables...). The client's own
    /// <c>product</c>, <c>version</c>, <c>platform</c>, <c>information</c>, <c>capabilities</c> and
    /// <c>connection_name</c> (see <see cref="ClientProvidedName"/>) cannot be replaced. Default: none.
    /// </summary>
    public IReadOnlyDictionary<string, object?>? ClientProperties { get; init; }

    /// <summary>Largest message body accepted in either direction; a larger delivery closes the connection before any allocation. Default 128 MiB.</summary>
    public long MaxMessageSize { get; init; } = 128L * 1024 * 1024;

    /// <summary>
    /// Commands a channel may queue for the writer before publishers wait (per-channel back-pressure). Default 4096,
    /// as deep as the default confirm window, so a confirmed publisher keeping its window in flight waits for confirms
    /// rather than for room. <see cref="ChannelOutboundBytes"/> bounds the memory.
    /// </summary>
    public int ChannelOutboundCapacity { get; init; } = 4096;

    /// <summary>
    /// Bytes of encoded commands a channel may queue for the writer before publishers wait; a command is accepted while
    /// the queue holds less, so a message larger than this still goes out. Bodies of 128 KiB and more are not copied
    /// into the queue and count only their frame headers. Default 512 KiB.
    /// </summary>
    public long ChannelOutboundBytes { get; init; } = 512 * 1024;

    /// <summary>Publishes a confirm-mode channel may have awaiting the broker's confirm before publishers wait. Default 4096.</summary>
    public int MaxOutstandingConfirms { get; init; } = 4096;

    /// <summary>Channels kept open in each rental pool (plain and confirm-mode) for reuse. Default 64.</summary>
    public int ChannelPoolSize { get; init; } = 64;

    /// <summary>First delay before reconnecting after a loss; doubled on each failed attempt up to <see cref="ReconnectMaxDelay"/>, with jitter. Default 100 ms.</summary>
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Cap of the reconnect back-off. Also how long a connection must stay up before the back-off starts
    /// again from <see cref="ReconnectInitialDelay"/>: a connection lost sooner continues the back-off where
    /// it was, so a broker that drops every new connection is not hammered. Default 10 s.
    /// </summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long <see cref="AmqpConnection.ConnectAsync"/> keeps trying before it gives up (its token may end it sooner). Default 60 s.</summary>
    public TimeSpan InitialConnectTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Whether the connection reconnects by itself. Default true. When false, for callers that own
    /// reconnection: <see cref="AmqpConnection.ConnectAsync"/> tries each endpoint once and throws the last
    /// attempt's error; a connection that is lost afterwards raises <see cref="AmqpConnection.ConnectionLost"/>,
    /// fails pending calls with <see cref="AmqpConnectionLostException"/> and ends the
    /// <see cref="AmqpConnection"/> for good (<see cref="AmqpConnection.Completion"/> faults with the loss);
    /// create a new one to connect again.
    /// </summary>
    public bool AutomaticReconnect { get; init; } = true;

    /// <summary>
    /// Asked for the credentials before every connection attempt (the first connect and each reconnect), so
    /// rotated passwords or short-lived tokens are picked up; <see cref="UserName"/> and <see cref="Password"/>
    /// are then not used. Its token is cancelled after <see cref="ConnectionTimeout"/> or when the connection is
    /// closed. A provider that throws, returns credentials without a user name or password, or does not answer
    /// within <see cref="ConnectionTimeout"/> (even one that ignores its token) fails that attempt like an
    /// unreachable broker: it is logged (event 1002, see <see cref="LoggerFactory"/>) and retried with back-off.
    /// Default: none.
    /// </summary>
    public Func<CancellationToken, ValueTask<AmqpCredentials>>? CredentialsProvider { get; init; }

    /// <summary>
    /// Where the connection logs (categories <c>Nucleon.Pipes.Connection</c>, <c>.Channel</c>, <c>.Consumer</c> and
    /// <c>.Publisher</c>; README, "Observability", lists every event). Nothing is formatted for a level that is off,
    /// nothing is logged per message at Information or above, and neither passwords nor message bodies are ever
    /// logged. Default: none (<see cref="NullLoggerFactory"/>).
    /// </summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Clock for heartbeats and back-off; tests may supply their own.</summary>
    internal TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Creates the <c>Nucleon.Pipes</c> meter (the host's <c>IMeterFactory</c> from dependency injection).
    /// Default: none, a static meter (see the README, "Observability").
    /// </summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// How a consumer's <c>process</c> span relates to the producer's span found in the message headers:
    /// false (default) makes it a child (one trace from publish to process), true starts a new trace linked to it.
    /// </summary>
    public bool LinkProcessSpans { get; init; }

    /// <summary>Parses an AMQP URI (see <see cref="AmqpUri"/> for the accepted form).</summary>
    /// <exception cref="UriFormatException">The URI is malformed.</exception>
    /// <exception cref="ArgumentException">A query parameter is unknown or out of range.</exception>
    public static AmqpConnectionOptions Parse(string uri) => AmqpUri.Parse(uri);

    /// <summary>The options as a URI with the password masked.</summary>
    public override string ToString() => AmqpUri.Format(this, maskPassword: true);

    internal void Validate()
    {
        foreach (var key in ClientProperties?.Keys ?? [])
        {
            if (ReservedClientProperties.Contains(key))
            {
                throw new ArgumentException($"Client property '{key}' is the client's own; use another key.", nameof(ClientProperties));
            }
        }

        if (Endpoints.Count == 0)
        {
            throw new ArgumentException("At least one endpoint is required.", nameof(Endpoints));
        }

        foreach (var e in Endpoints)
        {
            if (string.IsNullOrWhiteSpace(e.Host))
            {
                throw new ArgumentException("An endpoint has an empty host.", nameof(Endpoints));
            }

            if (e.Port is < 1 or > 65535)
            {
                throw new ArgumentOutOfRangeException(nameof(Endpoints), e.Port, "An endpoint port must be between 1 and 65535.");
            }
        }

        if (Heartbeat < TimeSpan.Zero || Math.Ceiling(Heartbeat.TotalSeconds) > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(Heartbeat), Heartbeat, "Heartbeat must be between 0 and 65535 seconds.");
        }

        if (FrameMax != 0 && FrameMax < Framing.AmqpConstants.FrameMinSize)
        {
            throw new ArgumentOutOfRangeException(nameof(FrameMax), FrameMax, "FrameMax must be 0 (no limit) or at least 4096.");
        }

        if (ConnectionTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectionTimeout), ConnectionTimeout, "ConnectionTimeout must be positive.");
        }

        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "HandshakeTimeout must be positive.");
        }

        if (!string.Equals(AuthMechanism, "PLAIN", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(AuthMechanism, "AMQPLAIN", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(AuthMechanism, "EXTERNAL", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Unsupported auth mechanism \"{AuthMechanism}\"; use PLAIN, AMQPLAIN or EXTERNAL.", nameof(AuthMechanism));
        }

        if (string.Equals(AuthMechanism, "EXTERNAL", StringComparison.OrdinalIgnoreCase) && !UseTls)
        {
            throw new ArgumentException("SASL EXTERNAL takes the identity from a TLS client certificate; it needs amqps:// (UseTls).", nameof(AuthMechanism));
        }

        ArgumentNullException.ThrowIfNull(Tls, nameof(Tls));

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxMessageSize, 0, nameof(MaxMessageSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(ChannelOutboundCapacity, 1, nameof(ChannelOutboundCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(ChannelOutboundBytes, 1, nameof(ChannelOutboundBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutstandingConfirms, 1, nameof(MaxOutstandingConfirms));
        ArgumentOutOfRangeException.ThrowIfLessThan(ChannelPoolSize, 0, nameof(ChannelPoolSize));
        ArgumentNullException.ThrowIfNull(VirtualHost, nameof(VirtualHost));
        ArgumentNullException.ThrowIfNull(UserName, nameof(UserName));
        ArgumentNullException.ThrowIfNull(Password, nameof(Password));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));

        // Refused here, naming the key, rather than as a failed handshake on every connect.
        if (ConnectionHandshake.StartOkOversize(this) is { } oversize)
        {
            throw new ArgumentException(oversize + ".", nameof(ClientProperties));
        }
    }
}
