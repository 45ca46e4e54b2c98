using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Tests.Unit.Connection;

/// <summary>
/// A scripted AMQP server performs a correct handshake and then sends malformed input, one scenario
/// per test. The client must report an <see cref="AmqpProtocolException"/> with the right reply code
/// and tell the server why with a connection.close carrying that code.
/// </summary>
public sealed class DecoderSafetyTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(15);

    [Fact]
    public Task Wrong_frame_end_octet_is_a_frame_error() =>
        RunScenarioAsync(AmqpReplyCode.FrameError, openChannel: false, async server =>
        {
            // A heartbeat frame whose end octet is 0x00 instead of 0xCE.
            await server.SendRawAsync(new byte[] { AmqpConstants.FrameHeartbeat, 0, 0, 0, 0, 0, 0, 0x00 });
        });

    [Fact]
    public Task Frame_larger_than_frame_max_is_a_frame_error() =>
        RunScenarioAsync(AmqpReplyCode.FrameError, openChannel: false, async server =>
        {
            // Only the header: it announces a payload above the negotiated 131072-byte frame_max.
            byte[] header = new byte[7];
            header[0] = AmqpConstants.FrameMethod;
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(3), 131_072 + 1);
            await server.SendRawAsync(header);
        });

    [Fact]
    public Task Unknown_frame_type_is_a_frame_error() =>
        RunScenarioAsync(AmqpReplyCode.FrameError, openChannel: false, async server =>
        {
            await server.SendRawAsync(new byte[] { 9, 0, 0, 0, 0, 0, 0, AmqpConstants.FrameEnd });
        });

    [Fact]
    public Task Method_on_a_channel_never_opened_is_a_channel_error() =>
        RunScenarioAsync(AmqpReplyCode.ChannelError, openChannel: false, async server =>
        {
            await server.SendMethodAsync(5, new ChannelFlow(false));
        });

    [Fact]
    public Task Body_larger_than_the_content_header_announced_is_a_frame_error() =>
        RunScenarioAsync(AmqpReplyCode.FrameError, openChannel: true, async server =>
        {
            string tag = server.ConsumerTag!;
            await server.SendMethodAsync(1, new BasicDeliver(tag, 1, false, "", "q"));
            byte[] header = new byte[FrameWriter.ContentHeaderFrameSize(null)];
            int n = FrameWriter.WriteContentHeaderFrame(header, 1, 10, null);
            await server.SendRawAsync(header.AsMemory(0, n));
            byte[] body = new byte[FrameWriter.BodyFramesSize(20, 131_072)];
            int m = FrameWriter.WriteBodyFrames(body, 1, new byte[20], 131_072);
            await server.SendRawAsync(body.AsMemory(0, m));
        });

    [Fact]
    public Task Content_header_without_a_method_is_an_unexpected_frame() =>
        RunScenarioAsync(AmqpReplyCode.UnexpectedFrame, openChannel: true, async server =>
        {
            byte[] header = new byte[FrameWriter.ContentHeaderFrameSize(null)];
            int n = FrameWriter.WriteContentHeaderFrame(header, 1, 10, null);
            await server.SendRawAsync(header.AsMemory(0, n));
        });

    private static async Task RunScenarioAsync(ushort expectedCode, bool openChannel, Func<ScriptedServer, Task> misbehave)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedServer(ct);
        var options = new AmqpConnectionOptions
        {
            Endpoints = [new AmqpEndpoint("127.0.0.1", server.Port)],
            InitialConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectionTimeout = TimeSpan.FromSeconds(10),
            Heartbeat = TimeSpan.Zero,
            // Long enough that no reconnect attempt happens while the test runs.
            ReconnectInitialDelay = TimeSpan.FromSeconds(30),
            ReconnectMaxDelay = TimeSpan.FromSeconds(30),
        };

        var error = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var conn = new AmqpConnection(options);
        conn.OnError((_, ex) =>
        {
            error.TrySetResult(ex);
            return ValueTask.CompletedTask;
        });

        var serverHandshake = server.AcceptAndHandshakeAsync();
        await conn.ConnectAsync(ct);
        await serverHandshake.WaitAsync(ct);

        Task? consumer = null;
        if (openChannel)
        {
            consumer = OpenChannelAndConsumeAsync(conn, ct);
            await server.AnswerChannelOpenAndConsumeAsync();
            await consumer.WaitAsync(ct);
        }

        await misbehave(server);

        var close = await server.ReadConnectionCloseAsync();
        Assert.Equal(expectedCode, close.ReplyCode);

        var reported = await error.Task.WaitAsync(ct);
        var protocolError = reported as AmqpProtocolException
            ?? (reported as AmqpConnectionLostException)?.InnerException as AmqpProtocolException;
        Assert.True(protocolError is not null, $"Expected an AmqpProtocolException, got {reported}");
        Assert.Equal(expectedCode, protocolError.ReplyCode);
        Assert.False(conn.IsConnected);
    }

    private static async Task OpenChannelAndConsumeAsync(AmqpConnection conn, CancellationToken ct)
    {
        // The channel and consumer stay alive until the connection fails.
        var channel = await conn.AllocateChannelAsync(cancellationToken: ct);
        Assert.Equal(1, channel.ChannelNumber);
        await channel.BasicConsumeAsync("q", new ConsumeOptions { Prefetch = 10 }, ct);
    }

    /// <summary>One client at a time on 127.0.0.1, port chosen by the OS.</summary>
    private sealed class ScriptedServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationToken _ct;
        private Socket? _client;
        private NetworkStream? _stream;

        public ScriptedServer(CancellationToken ct)
        {
            _ct = ct;
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        }

        public int Port { get; }

        public string? ConsumerTag { get; private set; }

        private NetworkStream Stream => _stream ?? throw new InvalidOperationException("No client yet.");

        public async Task AcceptAndHandshakeAsync()
        {
            _client = await _listener.AcceptSocketAsync(_ct);
            _stream = new NetworkStream(_client, ownsSocket: false);

            byte[] protocolHeader = new byte[8];
            await Stream.ReadExactlyAsync(protocolHeader, _ct);
            Assert.Equal(AmqpConstants.ProtocolHeader.ToArray(), protocolHeader);

            var props = new Dictionary<string, object?> { ["product"] = "ScriptedServer", ["version"] = "0.0" };
            await SendMethodAsync(0, new ConnectionStart(0, 9, props, "PLAIN AMQPLAIN", "en_US"));
            var startOk = MethodFrame.Decode<ConnectionStartOk>(await ReadMethodAsync(0, MethodIds.ConnectionStartOk));
            Assert.Equal("PLAIN", startOk.Mechanism);

            await SendMethodAsync(0, new ConnectionTune(2047, 131_072, 0));
            var tuneOk = MethodFrame.Decode<ConnectionTuneOk>(await ReadMethodAsync(0, MethodIds.ConnectionTuneOk));
            Assert.Equal(131_072u, tuneOk.FrameMax);
            MethodFrame.Decode<ConnectionOpen>(await ReadMethodAsync(0, MethodIds.ConnectionOpen));
            await SendMethodAsync(0, new ConnectionOpenOk());
        }

        public async Task AnswerChannelOpenAndConsumeAsync()
        {
            await ReadMethodAsync(1, MethodIds.ChannelOpen);
            await SendMethodAsync(1, new ChannelOpenOk());
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

        public async Task SendRawAsync(ReadOnlyMemory<byte> bytes) => await Stream.WriteAsync(bytes, _ct);

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

        private async Task<byte[]> ReadMethodAsync(ushort expectedChannel, uint expectedId)
        {
            while (true)
            {
                var (type, channel, payload) = await ReadFrameAsync();
                if (type == AmqpConstants.FrameHeartbeat)
                {
                    continue;
                }

                Assert.Equal(AmqpConstants.FrameMethod, type);
                Assert.Equal(expectedChannel, channel);
                var (classId, methodId) = MethodFrame.ReadIds(payload);
                Assert.Equal(MethodNames.Name((ushort)(expectedId >> 16), (ushort)expectedId), MethodNames.Name(classId, methodId));
                return payload;
            }
        }

        private async Task<(byte Type, ushort Channel, byte[] Payload)> ReadFrameAsync()
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

        public async ValueTask DisposeAsync()
        {
            if (_stream is not null)
            {
                await _stream.DisposeAsync();
            }

            _client?.Dispose();
            _listener.Stop();
            _listener.Dispose();
        }
    }
}
