using System.Buffers;
using System.IO.Pipelines;
using System.Reflection;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Transport;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// Connection negotiation (spec 2.2.4): protocol header, start/start-ok, tune/tune-ok, open/open-ok.
/// It runs before the session's reader and writer tasks exist, reading and writing the transport's pipes
/// directly. A connection.close from the broker becomes <see cref="AmqpAuthenticationException"/> for
/// 403 and <see cref="AmqpConnectionException"/> otherwise; an EOF is <see cref="AmqpConnectionLostException"/>.
/// </summary>
internal sealed class ConnectionHandshake(SocketTransport transport, AmqpConnectionOptions options)
{
    private const uint HandshakeFrameLimit = 1024 * 1024;

    private readonly SocketTransport _transport = transport;
    private readonly AmqpConnectionOptions _options = options;

    /// <summary>The method the handshake waits for (named by a handshake timeout).</summary>
    public string Awaiting { get; private set; } = "connection.start";

    /// <summary>Negotiated frame_max (0 = no limit).</summary>
    public uint FrameMax { get; private set; }

    /// <summary>Negotiated channel_max (never 0: "no limit" becomes 65535).</summary>
    public ushort ChannelMax { get; private set; }

    /// <summary>Negotiated heartbeat (zero = off).</summary>
    public TimeSpan Heartbeat { get; private set; }

    /// <summary>The broker's connection.start server-properties (read-only, shared with other connections sent the same).</summary>
    public IDictionary<string, object?> ServerProperties { get; private set; } = SharedServerProperties.Empty;

    private AmqpEndpoint Endpoint => _transport.Endpoint;

    private PipeReader Input => _transport.Input;

    /// <summary>Negotiates the connection; throws what the broker refused, or what broke.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var output = _transport.Output;
        FrameWriter.WriteProtocolHeader(output.GetSpan(8));
        output.Advance(8);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);

        var (startId, startPayload) = await ReadHandshakeMethodAsync(afterStartOk: false, cancellationToken).ConfigureAwait(false);
        ExpectMethod(startId, MethodIds.ConnectionStart, "connection.start");
        var start = MethodFrame.Decode<ConnectionStart>(startPayload);
        if (start.VersionMajor != 0 || start.VersionMinor != 9)
        {
            throw new AmqpProtocolException(AmqpReplyCode.NotImplemented, $"The broker speaks AMQP {start.VersionMajor}-{start.VersionMinor}; this client speaks 0-9-1.");
        }

        ServerProperties = SharedServerProperties.Share(start.ServerProperties);
        string mechanism = _options.AuthMechanism.ToUpperInvariant();
        if (!start.Mechanisms.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(mechanism, StringComparer.Ordinal))
        {
            throw new AmqpAuthenticationException($"The broker offers the SASL mechanisms \"{start.Mechanisms}\" but the client is configured for {mechanism}.");
        }

        byte[] response = SaslResponse.Create(mechanism, _options.UserName, _options.Password);
        try
        {
            var startOk = StartOk(_options, mechanism, response);
            if (StartOkOversize(startOk) is { } oversize)
            {
                // Sent anyway, the broker would reset the connection without a word, on every attempt.
                throw new InvalidOperationException(oversize + " (the credentials provider's token counts too).");
            }

            await WriteHandshakeMethodAsync(startOk, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The response holds the password: don't leave it lying in memory.
            Array.Clear(response);
        }

        Awaiting = "connection.tune";
        var (id, payload) = await ReadHandshakeMethodAsync(afterStartOk: true, cancellationToken).ConfigureAwait(false);
        if (id == MethodIds.ConnectionSecure)
        {
            throw new AmqpAuthenticationException($"The broker sent a SASL challenge, which {mechanism} does not use.");
        }

        ExpectMethod(id, MethodIds.ConnectionTune, "connection.tune");
        var tune = MethodFrame.Decode<ConnectionTune>(payload);
        ChannelMax = Negotiate(_options.ChannelMax, tune.ChannelMax) is var c and not 0 ? (ushort)c : ushort.MaxValue;
        FrameMax = Negotiate(_options.FrameMax, tune.FrameMax);
        // AMQP negotiates whole seconds: round up, so 500 ms asks for 1 s instead of switching heartbeats off.
        uint clientHeartbeat = (uint)Math.Ceiling(_options.Heartbeat.TotalSeconds);
        uint heartbeat = clientHeartbeat == 0 || tune.Heartbeat == 0 ? 0 : Math.Min(clientHeartbeat, tune.Heartbeat);
        Heartbeat = TimeSpan.FromSeconds(heartbeat);
        await WriteHandshakeMethodAsync(new ConnectionTuneOk(ChannelMax, FrameMax, (ushort)heartbeat), cancellationToken).ConfigureAwait(false);

        await WriteHandshakeMethodAsync(new ConnectionOpen(_options.VirtualHost), cancellationToken).ConfigureAwait(false);
        Awaiting = "connection.open-ok";
        (id, _) = await ReadHandshakeMethodAsync(afterStartOk: true, cancellationToken).ConfigureAwait(false);
        ExpectMethod(id, MethodIds.ConnectionOpenOk, "connection.open-ok");
    }

    // The spec: the lower of two limits, where 0 means "no limit".
    private static uint Negotiate(uint client, uint server) =>
        client == 0 ? server : server == 0 ? client : Math.Min(client, server);

    private static void ExpectMethod(uint actual, uint expected, string name)
    {
        if (actual != expected)
        {
            throw new AmqpProtocolException(AmqpReplyCode.CommandInvalid,
                $"Expected {name} during the handshake but received {MethodNames.Name((ushort)(actual >> 16), (ushort)actual)}.");
        }
    }

    /// <summary>
    /// Why connection.start-ok with <paramref name="options"/>' client properties and credentials would not fit the
    /// frame the broker reads before tuning, or null when it fits; throws <see cref="ArgumentException"/> for a key
    /// or value AMQP cannot carry.
    /// </summary>
    public static string? StartOkOversize(AmqpConnectionOptions options)
    {
        string mechanism = options.AuthMechanism.ToUpperInvariant();
        byte[] response = SaslResponse.Create(mechanism, options.UserName, options.Password);
        try
        {
            return StartOkOversize(StartOk(options, mechanism, response));
        }
        finally
        {
            Array.Clear(response);
        }
    }

    private static ConnectionStartOk StartOk(AmqpConnectionOptions options, string mechanism, byte[] response) =>
        new(ClientProperties(options), mechanism, response, "en_US");

    // Before connection.tune the broker reads frames of at most frame_min_size (4096 bytes); RabbitMQ resets a larger one.
    private static string? StartOkOversize(in ConnectionStartOk startOk)
    {
        int size = FrameWriter.MethodFrameSize(startOk); // throws ArgumentException for a key or value AMQP cannot carry
        return size <= AmqpConstants.FrameMinSize
            ? null
            : $"connection.start-ok would be a {size}-byte frame, but the broker reads at most {AmqpConstants.FrameMinSize} bytes before tuning: shorten ClientProperties";
    }

    // Looked up once: reading the assembly's attribute cost about 60 µs of every handshake.
    private static readonly string ClientVersion =
        typeof(ConnectionHandshake).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.1";

    private static readonly string Platform = ".NET " + Environment.Version;

    private static Dictionary<string, object?> ClientProperties(AmqpConnectionOptions options)
    {
        var capabilities = new Dictionary<string, object?>
        {
            ["publisher_confirms"] = true,
            ["exchange_exchange_bindings"] = true,
            ["basic.nack"] = true,
            ["consumer_cancel_notify"] = true,
            ["connection.blocked"] = true,
            ["authentication_failure_close"] = true,
            ["per_consumer_qos"] = true,
        };
        var properties = new Dictionary<string, object?>
        {
            ["product"] = "Nucleon.Pipes",
            ["version"] = ClientVersion,
            ["platform"] = Platform,
            ["information"] = "An AMQP 0-9-1 client on System.IO.Pipelines",
            ["capabilities"] = capabilities,
        };
        if (options.ClientProvidedName is { } name)
        {
            properties["connection_name"] = name;
        }

        foreach (var (key, value) in options.ClientProperties ?? new Dictionary<string, object?>())
        {
            properties.TryAdd(key, value); // the client's own keys stay (Validate refuses them anyway)
        }

        return properties;
    }

    private async Task WriteHandshakeMethodAsync<T>(T method, CancellationToken cancellationToken) where T : struct, IAmqpMethod<T>
    {
        var output = _transport.Output;
        int size = FrameWriter.MethodFrameSize(method);
        int n = FrameWriter.WriteMethodFrame(output.GetSpan(size), 0, method);
        output.Advance(n);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<(uint Id, byte[] Payload)> ReadHandshakeMethodAsync(bool afterStartOk, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= 4 && buffer.FirstSpan.Length >= 4 && buffer.FirstSpan[..4].SequenceEqual("AMQP"u8))
            {
                // The broker answers a protocol header it does not accept with its own.
                byte[] header = buffer.Slice(0, Math.Min(8, buffer.Length)).ToArray();
                throw new AmqpProtocolException(AmqpReplyCode.NotImplemented,
                    $"The broker refused AMQP 0-9-1 and offered protocol header {Convert.ToHexString(header)}.");
            }

            if (FrameReader.TryReadFrame(ref buffer, HandshakeFrameLimit, out var frame))
            {
                byte type = frame.Type;
                ushort channel = frame.Channel;
                byte[] payload = frame.Payload.ToArray();
                Input.AdvanceTo(buffer.Start);
                if (type == AmqpConstants.FrameHeartbeat)
                {
                    continue;
                }

                if (type != AmqpConstants.FrameMethod || channel != 0)
                {
                    throw new AmqpProtocolException(AmqpReplyCode.UnexpectedFrame, $"Unexpected frame of type {type} on channel {channel} during the handshake.");
                }

                var (classId, methodId) = MethodFrame.ReadIds(payload);
                uint id = ((uint)classId << 16) | methodId;
                if (id == MethodIds.ConnectionClose)
                {
                    var close = MethodFrame.Decode<ConnectionClose>(payload);
                    await TryAnswerCloseAsync().ConfigureAwait(false);
                    throw close.ReplyCode == AmqpReplyCode.AccessRefused
                        ? new AmqpAuthenticationException($"{close.ReplyCode} {close.ReplyText}")
                        : new AmqpConnectionException(close.ReplyCode, close.ReplyText, close.FailingClassId, close.FailingMethodId);
                }

                return (id, payload);
            }

            Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                // Not an answer: this client advertises authentication_failure_close, so a broker that refuses
                // the credentials says so with 403; a bare EOF is a node going away or timing out: retried.
                throw afterStartOk
                    ? new AmqpConnectionLostException($"The broker at {Endpoint} closed the connection during the handshake without a connection.close (a node shutting down or timing out the handshake; a broker that does not honour authentication_failure_close refuses credentials this way too).")
                    : new AmqpConnectionLostException($"The broker at {Endpoint} closed the connection before the handshake started.");
            }
        }
    }

    private async Task TryAnswerCloseAsync()
    {
        try
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await WriteHandshakeMethodAsync(new ConnectionCloseOk(), quick.Token).ConfigureAwait(false);
            // A flush only hands the bytes to the send loop: let it put them on the socket before the caller aborts it.
            await _transport.Output.CompleteAsync().ConfigureAwait(false);
            await _transport.SendLoop.WaitAsync(quick.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
        }
    }
}
