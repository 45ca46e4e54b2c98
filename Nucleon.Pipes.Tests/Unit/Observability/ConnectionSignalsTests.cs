using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Observability;

/// <summary>The connection's application-facing signals and their log events, against a scripted server.</summary>
public sealed class ConnectionSignalsTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_connection_lost_while_blocked_raises_Unblocked_then_ConnectionLost_then_Reconnected_and_logs_them_in_that_order()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(new AmqpConnectionOptions
        {
            Endpoints = [new AmqpEndpoint("127.0.0.1", server.Port)],
            Heartbeat = TimeSpan.Zero,
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            LoggerFactory = log.CreateFactory(),
        });
        var seen = new ConcurrentQueue<string>();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnected = new TaskCompletionSource<AmqpReconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.Blocked += (_, e) =>
        {
            seen.Enqueue($"blocked {e.Generation} {e.Reason}");
            blocked.TrySetResult();
        };
        conn.Unblocked += (_, e) => seen.Enqueue($"unblocked {e.Generation} ended={e.ConnectionEnded}");
        conn.ConnectionLost += (_, e) => seen.Enqueue($"lost {e.Generation} reconnect={e.WillReconnect}");
        conn.Reconnected += (_, e) =>
        {
            seen.Enqueue($"reconnected {e.Generation}");
            reconnected.TrySetResult(e);
        };

        var handshake = server.AcceptAndHandshakeAsync();
        await conn.ConnectAsync(ct);
        await handshake.WaitAsync(ct);

        await server.SendMethodAsync(0, new ConnectionBlocked("low on memory"));
        await server.SendMethodAsync(0, new ConnectionBlocked("low on memory")); // a repeat is not a second Blocked
        await blocked.Task.WaitAsync(ct);
        server.DropClient();
        await server.AcceptAndHandshakeAsync();
        var back = await reconnected.Task.WaitAsync(ct);

        Assert.Equal(["blocked 1 low on memory", "unblocked 1 ended=True", "lost 1 reconnect=True", "reconnected 2"], seen);
        Assert.Equal(2, back.Generation);
        Assert.Equal(0, back.FailedAttempts);
        Assert.True(back.Outage > TimeSpan.Zero);
        Assert.False(conn.IsBlocked);

        int[] lifecycle = [.. log.Entries.Where(e => e.Category == "Nucleon.Pipes.Connection").Select(e => e.EventId.Id)];
        Assert.Equal(
            [
                LogEvents.ConnectAttempt, LogEvents.Connected, LogEvents.Blocked, LogEvents.Unblocked, LogEvents.Lost,
                LogEvents.BackOff, LogEvents.ConnectAttempt, LogEvents.Connected, LogEvents.Reconnected,
            ],
            lifecycle);
        var lost = Assert.Single(log.Events(LogEvents.Lost));
        Assert.Equal(LogLevel.Warning, lost.Level);
        Assert.Equal(1, lost["Generation"]);
        Assert.Equal(0, lost["ReplyCode"]);
        Assert.IsType<AmqpConnectionLostException>(lost.Exception);
        Assert.Equal("low on memory", Assert.Single(log.Events(LogEvents.Blocked))["Reason"]);
        Assert.Equal(true, Assert.Single(log.Events(LogEvents.Unblocked))["ConnectionEnded"]);

        var closing = conn.CloseAsync(ct);
        await server.ReadConnectionCloseAsync();
        await server.SendMethodAsync(0, new ConnectionCloseOk());
        await closing.WaitAsync(ct);
        Assert.Equal(2, Assert.Single(log.Events(LogEvents.Closed))["Generation"]);
    }

    [Fact]
    public async Task A_logger_that_throws_never_breaks_the_connection()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new ThrowingLoggerProvider()));
        await using var conn = new AmqpConnection(new AmqpConnectionOptions
        {
            Endpoints = [new AmqpEndpoint("127.0.0.1", server.Port)],
            Heartbeat = TimeSpan.Zero,
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            LoggerFactory = factory,
        });
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.Blocked += (_, _) => blocked.TrySetResult();

        var handshake = server.AcceptAndHandshakeAsync();
        await conn.ConnectAsync(ct); // the supervisor logged the attempt and the connect
        await handshake.WaitAsync(ct);
        await server.SendMethodAsync(0, new ConnectionBlocked("low on memory")); // the reader logs it
        await blocked.Task.WaitAsync(ct);
        var open = conn.AllocateChannelAsync(cancellationToken: ct);
        await server.AnswerChannelOpenAsync(1);
        Assert.True((await open.WaitAsync(ct)).IsOpen);
        Assert.Equal(1, conn.Generation);
        Assert.True(conn.IsConnected);

        var closing = conn.CloseAsync(ct);
        await server.ReadConnectionCloseAsync();
        await server.SendMethodAsync(0, new ConnectionCloseOk());
        await closing.WaitAsync(ct);
    }

    private sealed class ThrowingLoggerProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ThrowingLogger();

        public void Dispose()
        {
        }

        private sealed class ThrowingLogger : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                throw new InvalidOperationException("the log sink is down");
        }
    }
}
