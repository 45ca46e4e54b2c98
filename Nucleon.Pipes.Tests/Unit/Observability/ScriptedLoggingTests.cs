using Microsoft.Extensions.Logging;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Observability;

/// <summary>Log events a real broker rarely produces on demand (nacks, flow, hooks that throw, a bad handshake), against a scripted server.</summary>
public sealed class ScriptedLoggingTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_nack_a_flow_change_and_a_channel_closed_with_publishes_awaiting_their_confirm_are_logged()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(Options(server, log));
        var handshake = server.AcceptAndHandshakeAsync();
        await conn.ConnectAsync(ct);
        await handshake.WaitAsync(ct);
        var open = conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct);
        await server.AnswerConfirmChannelOpenAsync(1);
        await using var ch = await open.WaitAsync(ct);

        var publishes = Enumerable.Range(0, 3).Select(_ => ch.PublishAsync("", "q", "x"u8.ToArray(), cancellationToken: ct).AsTask()).ToList();
        for (int i = 0; i < 3; i++)
        {
            await server.ReadMethodAsync(1, MethodIds.BasicPublish);
        }

        await server.SendMethodAsync(1, new BasicNack(1, false, false));
        await Assert.ThrowsAsync<AmqpPublishNackedException>(() => publishes[0].WaitAsync(ct));
        await server.SendMethodAsync(1, new ChannelFlow(false));
        await server.ReadMethodAsync(1, MethodIds.ChannelFlowOk);
        await server.SendMethodAsync(1, new ChannelClose(AmqpReplyCode.PreconditionFailed, "PRECONDITION_FAILED - scripted", 60, 40));
        await Assert.ThrowsAsync<AmqpChannelException>(() => publishes[1].WaitAsync(ct));
        await Assert.ThrowsAsync<AmqpChannelException>(() => publishes[2].WaitAsync(ct));

        var nacked = Assert.Single(log.Events(LogEvents.Nacked));
        Assert.Equal(LogLevel.Debug, nacked.Level);
        Assert.Equal("Nucleon.Pipes.Publisher", nacked.Category);
        Assert.Equal(1UL, nacked["DeliveryTag"]);
        Assert.Equal(false, Assert.Single(log.Events(LogEvents.Flow))["Active"]);
        var unconfirmed = Assert.Single(log.Events(LogEvents.UnconfirmedFailed));
        Assert.Equal(LogLevel.Warning, unconfirmed.Level);
        Assert.Equal(2, unconfirmed["Count"]);
        var closed = Assert.Single(log.Events(LogEvents.ClosedByBroker));
        Assert.Equal("basic.publish", closed["Method"]);
        Assert.Equal(AmqpReplyCode.PreconditionFailed, closed["ReplyCode"]);

        await CloseAsync(conn, server, ct);
    }

    [Fact]
    public async Task A_hook_that_throws_is_logged_and_reported_once_and_the_next_attempt_connects()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(Options(server, log));
        int runs = 0;
        conn.OnConnect((_, _) => Interlocked.Increment(ref runs) == 1 ? throw new InvalidOperationException("hook bug") : Task.CompletedTask);
        var reports = new List<Exception>();
        conn.OnError((_, ex) =>
        {
            lock (reports)
            {
                reports.Add(ex);
            }

            return ValueTask.CompletedTask;
        });

        var connecting = conn.ConnectAsync(ct);
        await server.AcceptAndHandshakeAsync();
        await server.ReadConnectionCloseAsync();
        await server.SendMethodAsync(0, new ConnectionCloseOk());
        await server.AcceptAndHandshakeAsync();
        await connecting.WaitAsync(ct);

        var failed = Assert.Single(log.Events(LogEvents.HookFailed));
        Assert.Equal(LogLevel.Error, failed.Level);
        Assert.Equal(1, failed["Generation"]);
        Assert.Contains("hook bug", (string)failed["Reason"]!, StringComparison.Ordinal);
        lock (reports)
        {
            Assert.Contains("hook bug", Assert.Single(reports).Message, StringComparison.Ordinal);
        }

        Assert.Empty(log.Events(LogEvents.Reconnected)); // not an outage: the first connection was never handed out
        Assert.Equal(2, conn.Generation);
        await CloseAsync(conn, server, ct);
    }

    [Fact]
    public async Task A_malformed_handshake_is_logged_as_a_protocol_error_and_a_failed_attempt()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(Options(server, log));

        var connecting = conn.ConnectAsync(ct);
        await server.AcceptAndReadHeaderAsync();
        await server.SendMethodAsync(1, new ChannelOpenOk()); // not channel 0, not connection.start
        await server.AcceptAndHandshakeAsync();
        await connecting.WaitAsync(ct);

        var malformed = Assert.Single(log.Events(LogEvents.MalformedHandshake));
        Assert.Equal(AmqpReplyCode.UnexpectedFrame, malformed["ReplyCode"]);
        Assert.Contains("channel 1", (string)malformed["What"]!, StringComparison.Ordinal);
        Assert.IsType<AmqpProtocolException>(Assert.Single(log.AttemptFailures));
        await CloseAsync(conn, server, ct);
    }

    private static AmqpConnectionOptions Options(ScriptedAmqpServer server, RecordingLoggerProvider log) => new()
    {
        Endpoints = [new AmqpEndpoint("127.0.0.1", server.Port)],
        Heartbeat = TimeSpan.Zero,
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        LoggerFactory = log.CreateFactory(),
    };

    private static async Task CloseAsync(AmqpConnection conn, ScriptedAmqpServer server, CancellationToken ct)
    {
        var closing = conn.CloseAsync(ct);
        await server.ReadConnectionCloseAsync();
        await server.SendMethodAsync(0, new ConnectionCloseOk());
        await closing.WaitAsync(ct);
    }
}
