using System.Buffers.Binary;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Tests.Infrastructure;

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

    private static async Task RunScenarioAsync(ushort expectedCode, bool openChannel, Func<ScriptedAmqpServer, Task> misbehave)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
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
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });
        conn.ConnectionLost += (_, e) => error.TrySetResult(e.Cause);

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

        // The log says what was malformed, where, and on which connection.
        var logged = Assert.Single(log.Events(LogEvents.MalformedFrame));
        Assert.Equal(expectedCode, logged["ReplyCode"]);
        Assert.Equal(protocolError.ReplyText, logged["What"]);
        Assert.Equal(options.Endpoints[0], logged["Endpoint"]);
    }

    private static async Task OpenChannelAndConsumeAsync(AmqpConnection conn, CancellationToken ct)
    {
        // The channel and consumer stay alive until the connection fails.
        var channel = await conn.AllocateChannelAsync(cancellationToken: ct);
        Assert.Equal(1, channel.ChannelNumber);
        await channel.BasicConsumeAsync("q", new ConsumeOptions { Prefetch = 10 }, ct);
    }
}
