using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>What the scripted server says during a (correct) handshake.</summary>
internal sealed record ScriptedHandshake
{
    public static ScriptedHandshake Default { get; } = new();

    public string Mechanisms { get; init; } = "PLAIN AMQPLAIN";

    public ushort ChannelMax { get; init; } = 2047;

    public uint FrameMax { get; init; } = 131_072;

    /// <summary>Heartbeat offered in connection.tune (seconds; 0 = off).</summary>
    public ushort Heartbeat { get; init; }
}

/// <summary>
/// A loopback AMQP "server" driven step by step by a test: it can perform a correct handshake, answer
/// channel.open / basic.qos / basic.consume, and then send whatever bytes a scenario needs. One client
/// connection at a time; <see cref="AcceptAsync"/> takes the next one (e.g. after the client reconnects).
/// Every wait is bounded by the token given at construction.
/// </summary>
internal sealed class ScriptedAmqpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationToken _ct;
    private readonly List<Socket> _clients = [];
    private Socket? _client;
    private NetworkStream? _stream;

    public ScriptedAmqpServer(CancellationToken ct)
    {
        _ct = ct;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
    }

    public int Port { get; }

    /// <summary>The consumer tag of the last basic.consume answered.</summary>
    public string? ConsumerTag { get; private set; }

    /// <summary>The last connection.start-ok received.</summary>
    public ConnectionStartOk? StartOk { get; private set; }

    /// <summary>The last connection.tune-ok received.</summary>
    public ConnectionTuneOk? TuneOk { get; private set; }

    /// <summary>Connections accepted so far.</summary>
    public int Accepted { get; private set; }

    private NetworkStream Stream => _stream ?? throw new InvalidOperationException("No client yet.");

    /// <summary>Accepts the next client connection (the previous one, if any, stays open until disposal).</summary>
    public async Task AcceptAsync()
    {
        _client = await _listener.AcceptSocketAsync(_ct);
        _clients.Add(_client);
        _stream = new NetworkStream(_client, ownsSocket: false);
        Accepted++;
    }

    /// <summary>Accepts a client and reads its protocol header.</summary>
    public async Task AcceptAndReadHeaderAsync()
    {
        await AcceptAsync();
        byte[] protocolHeader = new byte[8];
        await Stream.ReadExactlyAsync(protocolHeader, _ct);
        Assert.Equal(AmqpConstants.ProtocolHeader.ToArray(), protocolHeader);
    }

    /// <summary>Accepts a client and performs a complete, correct handshake.</summary>
    public async Task AcceptAndHandshakeAsync(ScriptedHandshake? handshake = null)
    {
        handshake ??= ScriptedHandshake.Default;
        await AcceptAndReadHeaderAsync();
        await SendStartAndReadStartOkAsync(handshake.Mechanisms);
        await FinishHandshakeAsync(handshake);
    }

    /// <summary>Sends connection.start and reads the client's connection.start-ok.</summary>
    public async Task<ConnectionStartOk> SendStartAndReadStartOkAsync(string mechanisms = "PLAIN AMQPLAIN")
    {
        var props = new Dictionary<string, object?> { ["product"] = "ScriptedServer", ["version"] = "0.0" };
        await SendMethodAsync(0, new ConnectionStart(0, 9, props, mechanisms, "en_US"));
        var startOk = MethodFrame.Decode<ConnectionStartOk>(await ReadMethodAsync(0, MethodIds.ConnectionStartOk));
        StartOk = startOk;
        return startOk;
    }

    /// <summary>connection.tune / tune-ok / open / open-ok.</summary>
    public async Task FinishHandshakeAsync(ScriptedHandshake? handshake = null)
    {
        handshake ??= ScriptedHandshake.Default;
        await SendMethodAsync(0, new ConnectionTune(handshake.ChannelMax, handshake.FrameMax, handshake.Heartbeat));
        TuneOk = MethodFrame.Decode<ConnectionTuneOk>(await ReadMethodAsync(0, MethodIds.ConnectionTuneOk));
        MethodFrame.Decode<ConnectionOpen>(await ReadMethodAsync(0, MethodIds.ConnectionOpen));
        await SendMethodAsync(0, new ConnectionOpenOk());
    }

    /// <summary>A client connected to this server (heartbeats off), the handshake done. The caller disposes it.</summary>
    public async Task<AmqpConnection> ConnectClientAsync()
    {
        var conn = new AmqpConnection(new AmqpConnectionOptions
        {
            Endpoints = [new AmqpEndpoint("127.0.0.1", Port)],
            Heartbeat = TimeSpan.Zero,
        });
        var connect = conn.ConnectAsync(_ct);
        await AcceptAndHandshakeAsync();
        await connect.WaitAsync(_ct);
        return conn;
    }

    /// <summary>Opens channel 1 of <paramref name="conn"/>, answering its channel.open.</summary>
    public async Task<MessageChannel> OpenClientChannelAsync(AmqpConnection conn)
    {
        var allocating = conn.AllocateChannelAsync(cancellationToken: _ct);
        await AnswerChannelOpenAsync(1);
        return await allocating.WaitAsync(_ct);
    }

    /// <summary>Closes <paramref name="conn"/> cleanly, answering its connection.close.</summary>
    public async Task CloseClientAsync(AmqpConnection conn)
    {
        var closing = conn.CloseAsync(_ct);
        await ReadConnectionCloseAsync();
        await SendMethodAsync(0, new ConnectionCloseOk());
        await closing.WaitAsync(_ct);
    }

    /// <summary>Answers channel.open on <paramref name="channel"/>.</summary>
    public async Task AnswerChannelOpenAsync(ushort channel = 1)
    {
        await ReadMethodAsync(channel, MethodIds.ChannelOpen);
        await SendMethodAsync(channel, new ChannelOpenOk());
    }

    /// <summary>Answers channel.open then confirm.select (a channel opened with publisher confirms).</summary>
    public async Task AnswerConfirmChannelOpenAsync(ushort channel = 1)
    {
        await AnswerChannelOpenAsync(channel);
        await ReadMethodAsync(channel, MethodIds.ConfirmSelect);
        await SendMethodAsync(channel, new ConfirmSelectOk());
    }

    /// <summary>Answers channel.open, basic.qos and basic.consume on channel 1.</summary>
    public async Task AnswerChannelOpenAndConsumeAsync()
    {
        await AnswerChannelOpenAsync(1);
        await ReadMethodAsync(1, MethodIds.BasicQos);
        await SendMethodAsync(1, new BasicQosOk());
        var consume = MethodFrame.Decode<BasicConsume>(await ReadMethodAsync(1, MethodIds.BasicConsume));
        ConsumerTag = consume.ConsumerTag;
        await SendMethodAsync(1, new BasicConsumeOk(consume.ConsumerTag));
    }

    public async Task SendMethodAsync<T>(ushort channel, T method) where T : struct, IAmqpMethod<T>
    {
        byte[] buffer = new byte[FrameWriter.MethodFrameSize(method)];
        int n = FrameWriter.WriteMethodFrame(buffer, channel, method);
        await SendRawAsync(buffer.AsMemory(0, n));
    }

    /// <summary>Sends one frame of any type with the given payload (header and frame-end added).</summary>
    public Task SendFrameAsync(byte type, ushort channel, ReadOnlySpan<byte> payload) => SendRawAsync(Frame(type, channel, payload));

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes) => await Stream.WriteAsync(bytes, _ct);

    /// <summary>A whole frame: 7-byte header, payload, frame-end octet.</summary>
    public static byte[] Frame(byte type, ushort channel, ReadOnlySpan<byte> payload)
    {
        byte[] frame = new byte[AmqpConstants.FrameOverhead + payload.Length];
        frame[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(1), channel);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(3), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(AmqpConstants.FrameHeaderSize));
        frame[^1] = AmqpConstants.FrameEnd;
        return frame;
    }

    /// <summary>Reads frames until the client's connection.close on channel 0 (heartbeats and others skipped).</summary>
    public async Task<ConnectionClose> ReadConnectionCloseAsync()
    {
        while (true)
        {
            var (type, channel, payload) = await ReadFrameAsync();
            if (type == AmqpConstants.FrameMethod && channel == 0)
            {
                var (classId, methodId) = MethodFrame.ReadIds(payload);
                if ((((uint)classId << 16) | methodId) == MethodIds.ConnectionClose)
                {
                    return MethodFrame.Decode<ConnectionClose>(payload);
                }
            }
        }
    }

    /// <summary>Reads (and discards) whatever the client sends until it closes the socket.</summary>
    public async Task WaitForDisconnectAsync()
    {
        byte[] sink = new byte[4096];
        try
        {
            while (await Stream.ReadAsync(sink, _ct) > 0)
            {
            }
        }
        catch (IOException)
        {
            // Reset by the client: disconnected as well.
        }
    }

    /// <summary>Reads the next method frame (heartbeats skipped) and checks its channel and id; returns its payload.</summary>
    public async Task<byte[]> ReadMethodAsync(ushort expectedChannel, uint expectedId)
    {
        var (channel, id, payload) = await ReadAnyMethodAsync();
        Assert.Equal(expectedChannel, channel);
        Assert.Equal(MethodNames.Name((ushort)(expectedId >> 16), (ushort)expectedId), MethodNames.Name((ushort)(id >> 16), (ushort)id));
        return payload;
    }

    /// <summary>Reads the next method frame (heartbeats skipped; content frames skipped too).</summary>
    public async Task<(ushort Channel, uint Id, byte[] Payload)> ReadAnyMethodAsync()
    {
        while (true)
        {
            var (type, channel, payload) = await ReadFrameAsync();
            if (type != AmqpConstants.FrameMethod)
            {
                continue;
            }

            var (classId, methodId) = MethodFrame.ReadIds(payload);
            return (channel, ((uint)classId << 16) | methodId, payload);
        }
    }

    public async Task<(byte Type, ushort Channel, byte[] Payload)> ReadFrameAsync()
    {
        byte[] header = new byte[AmqpConstants.FrameHeaderSize];
        await Stream.ReadExactlyAsync(header, _ct);
        uint size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(3));
        Assert.InRange(size, 0u, 1u << 20);
        byte[] rest = new byte[size + 1];
        await Stream.ReadExactlyAsync(rest, _ct);
        Assert.Equal(AmqpConstants.FrameEnd, rest[^1]);
        return (header[0], BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(1)), rest[..^1]);
    }

    /// <summary>Closes the current client socket abruptly.</summary>
    public void DropClient()
    {
        _client?.Close();
        _stream = null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stream is not null)
        {
            await _stream.DisposeAsync();
        }

        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _listener.Stop();
        _listener.Dispose();
    }
}
