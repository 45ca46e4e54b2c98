using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Connection;
using Xunit.Abstractions;

namespace Nucleon.Pipes.Tests.Integration.Observability;

/// <summary>The log events and connection signals an operator sees, on the real broker (issue 11, logging).</summary>
[Collection(BrokerCollection.Name)]
public sealed class ConnectionLoggingTests(BrokerFixture broker, ITestOutputHelper output)
{
    private const string ConnectionCategory = "Nucleon.Pipes.Connection";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_forced_close_logs_the_documented_events_in_order_and_raises_one_ConnectionLost_then_one_Reconnected()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string name = BrokerConnectionInfo.UniqueName("nucleon-log-forced");
        string queue = BrokerConnectionInfo.UniqueName("nucleon-log-forced-q");
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(Options(name, log));
        conn.OnConnect(async (c, t) =>
        {
            await using var ch = await c.RentChannelAsync(cancellationToken: t);
            await ch.QueueDeclareAsync(queue, cancellationToken: t);
        });
        var signals = new ConcurrentQueue<string>();
        var reconnected = new TaskCompletionSource<AmqpReconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.ConnectionLost += (_, e) => signals.Enqueue($"lost {e.Generation} {e.ReplyCode} reconnect={e.WillReconnect}");
        conn.Reconnected += (_, e) =>
        {
            signals.Enqueue($"reconnected {e.Generation}");
            reconnected.TrySetResult(e);
        };
        await conn.ConnectAsync(ct);

        // A consumer that lives through the close: subscribed on generation 1, again on generation 2.
        var received = Channel.CreateUnbounded<string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var consuming = Task.Run(async () =>
        {
            try
            {
                await foreach (var m in conn.ConsumeAsync(queue, cancellationToken: stop.Token))
                {
                    received.Writer.TryWrite(Encoding.UTF8.GetString(m.Body.Span));
                    await m.AckAsync();
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }, CancellationToken.None);
        await PublishAsync(conn, queue, "before", ct);
        await ReceiveAsync(received, "before", ct);

        var info = await BrokerConnectionInfo.FindAsync(broker, name);
        await broker.CloseConnectionAsync(await info.ToBrokerConnectionAsync(broker), "nucleon logging test");
        var back = await reconnected.Task.WaitAsync(ct);
        await PublishAsync(conn, queue, "after", ct);
        await ReceiveAsync(received, "after", ct);
        await stop.CancelAsync();
        await consuming;
        await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
        {
            await ch.QueueDeleteAsync(queue, cancellationToken: ct);
        }

        await conn.CloseAsync(ct);
        foreach (var entry in log.Entries)
        {
            output.WriteLine(entry.ToString());
        }

        // The application heard of the outage once, and of its end once, in that order.
        Assert.Equal(["lost 1 320 reconnect=True", "reconnected 2"], signals);
        Assert.Equal(2, back.Generation);
        Assert.True(back.Outage > TimeSpan.Zero);

        // The connection's story, in order (a failed attempt or two may come between the loss and the reconnect).
        AssertInOrder(log.Entries.Where(e => e.Category == ConnectionCategory),
            LogEvents.ConnectAttempt, LogEvents.Connected, LogEvents.Lost, LogEvents.BackOff, LogEvents.ConnectAttempt, LogEvents.Connected,
            LogEvents.Reconnected, LogEvents.Closed);
        var lost = Assert.Single(log.Events(LogEvents.Lost));
        Assert.Equal(LogLevel.Warning, lost.Level);
        Assert.Equal(1, lost["Generation"]);
        Assert.Equal(320, lost["ReplyCode"]);
        Assert.Equal(true, lost["WillReconnect"]);
        Assert.Equal(conn.CurrentEndpoint, lost["Endpoint"]);
        Assert.Contains("nucleon logging test", (string)lost["Reason"]!, StringComparison.Ordinal);
        var connected = log.Events(LogEvents.Connected);
        Assert.Equal([1, 2], connected.Select(e => e["Generation"]));
        Assert.All(connected, e =>
        {
            Assert.Equal(LogLevel.Information, e.Level);
            Assert.Equal("RabbitMQ", e["ServerProduct"]);
            Assert.Equal(conn.Options.FrameMax, e["FrameMax"]);
            Assert.Equal(conn.Options.ChannelMax, e["ChannelMax"]);
            Assert.Equal(conn.Options.Heartbeat.TotalSeconds, e["HeartbeatSeconds"]);
        });
        var reconnectedEntry = Assert.Single(log.Events(LogEvents.Reconnected));
        Assert.Equal(2, reconnectedEntry["Generation"]);
        Assert.Equal(back.FailedAttempts, reconnectedEntry["FailedAttempts"]);
        Assert.Equal(back.FailedAttempts, log.AttemptFailures.Count);

        // The consumer's: subscribed, then subscribed again on the new connection.
        AssertInOrder(log.Entries.Where(e => e.Category == "Nucleon.Pipes.Consumer"),
            LogEvents.Subscribed, LogEvents.Subscribed, LogEvents.Resubscribed);
        Assert.Equal([1, 2], log.Events(LogEvents.Subscribed).Select(e => e["Generation"]));
        Assert.All(log.Events(LogEvents.Subscribed), e => Assert.Equal(queue, e["Queue"]));
        var resubscribed = Assert.Single(log.Events(LogEvents.Resubscribed));
        Assert.Equal(LogLevel.Information, resubscribed.Level);
        Assert.Equal(2, resubscribed["Generation"]);
        Assert.Equal(queue, resubscribed["Queue"]);
    }

    [Fact]
    public async Task A_refused_period_raises_one_ConnectionLost_and_one_Reconnected_and_leaves_each_attempt_to_the_log()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        var endpoint = new AmqpEndpoint("127.0.0.1", proxy.Port);
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(Options("nucleon-log-refused", log) with { Endpoints = [endpoint] });
        int reports = 0;
        conn.OnError((_, _) =>
        {
            Interlocked.Increment(ref reports);
            return ValueTask.CompletedTask;
        });
        var signals = new ConcurrentQueue<string>();
        var lostSignal = new TaskCompletionSource<AmqpConnectionLostEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnected = new TaskCompletionSource<AmqpReconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.ConnectionLost += (_, e) =>
        {
            signals.Enqueue($"lost {e.Generation}");
            lostSignal.TrySetResult(e);
        };
        conn.Reconnected += (_, e) =>
        {
            signals.Enqueue($"reconnected {e.Generation}");
            reconnected.TrySetResult(e);
        };
        await conn.ConnectAsync(ct);

        proxy.RefuseNew = true;
        proxy.CutAll();
        var lost = await lostSignal.Task.WaitAsync(ct);
        for (int i = 0; i < 4; i++)
        {
            await log.NextAsync(LogEvents.AttemptFailed, ct);
        }

        Assert.Equal(1, conn.Generation);
        Assert.False(conn.IsConnected);
        proxy.RefuseNew = false;
        var back = await reconnected.Task.WaitAsync(ct);
        await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
        {
            await ch.QueueDeclareAsync(exclusive: true, cancellationToken: ct);
        }

        output.WriteLine($"outage {back.Outage.TotalMilliseconds:0} ms, {back.FailedAttempts} failed attempts");
        Assert.Equal(["lost 1", "reconnected 2"], signals);
        Assert.Equal(endpoint, lost.Endpoint);
        Assert.IsType<AmqpConnectionLostException>(lost.Cause);
        Assert.Null(lost.ReplyCode);
        Assert.True(lost.WillReconnect);
        Assert.Equal(2, back.Generation);
        Assert.Equal(2, conn.Generation);
        Assert.True(back.Outage > TimeSpan.Zero);
        Assert.True(back.FailedAttempts >= 4, $"{back.FailedAttempts} failed attempts");
        Assert.Equal(0, Volatile.Read(ref reports)); // refused attempts are the log's business

        // Each attempt is in the log: attempt, failure and back-off, numbered from the loss.
        var attempts = log.Events(LogEvents.AttemptFailed);
        Assert.Equal(back.FailedAttempts, attempts.Count);
        Assert.Equal(Enumerable.Range(1, attempts.Count), attempts.Select(e => (int)e["Attempt"]!));
        Assert.All(attempts, e => Assert.Equal(endpoint, e["Endpoint"]));
        Assert.True(log.Events(LogEvents.BackOff).Count >= attempts.Count + 1); // after the loss, and after each failure
        Assert.Equal(back.FailedAttempts, Assert.Single(log.Events(LogEvents.Reconnected))["FailedAttempts"]);
    }

    [Fact]
    public async Task A_channel_closed_by_the_broker_is_logged_with_its_reply_and_the_pool_says_why_it_drops_it()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(Options("nucleon-log-channel", log));
        await conn.ConnectAsync(ct);
        string exchange = BrokerConnectionInfo.UniqueName("nucleon-log-missing");
        ushort number;
        await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
        {
            number = ch.ChannelNumber;
            var error = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.ExchangeDeclareAsync(exchange, passive: true, cancellationToken: ct));
            Assert.Equal(AmqpReplyCode.NotFound, error.ReplyCode);
        }

        var closed = Assert.Single(log.Events(LogEvents.ClosedByBroker));
        Assert.Equal("Nucleon.Pipes.Channel", closed.Category);
        Assert.Equal(LogLevel.Warning, closed.Level);
        Assert.Equal(number, closed["Channel"]);
        Assert.Equal(1, closed["Generation"]);
        Assert.Equal(AmqpReplyCode.NotFound, closed["ReplyCode"]);
        Assert.Contains(exchange, (string)closed["ReplyText"]!, StringComparison.Ordinal);
        Assert.Equal("exchange.declare", closed["Method"]);
        Assert.Equal((ushort)40, closed["ClassId"]);
        Assert.Equal((ushort)10, closed["MethodId"]);

        var discarded = Assert.Single(log.Events(LogEvents.PooledChannelDiscarded));
        Assert.Equal(LogLevel.Debug, discarded.Level);
        Assert.Equal(number, discarded["Channel"]);
        Assert.Contains("closed", (string)discarded["Why"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_consumer_cancelled_by_the_broker_is_logged_with_its_queue_and_tag()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(Options("nucleon-log-cancel", log));
        await conn.ConnectAsync(ct);
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: ct);
        string queue = (await ch.QueueDeclareAsync(BrokerConnectionInfo.UniqueName("nucleon-log-cancel-q"), cancellationToken: ct)).QueueName;
        await using var consumer = ch.ConsumeAsync(queue, cancellationToken: ct).GetAsyncEnumerator(ct);
        var next = consumer.MoveNextAsync().AsTask();
        var subscribed = await log.NextAsync(LogEvents.Subscribed, ct);
        await using (var other = await conn.RentChannelAsync(cancellationToken: ct))
        {
            await other.QueueDeleteAsync(queue, cancellationToken: ct);
        }

        await Assert.ThrowsAsync<AmqpConsumerCancelledException>(() => next.WaitAsync(ct));
        var cancelled = Assert.Single(log.Events(LogEvents.CancelledByBroker));
        Assert.Equal(LogLevel.Warning, cancelled.Level);
        Assert.Equal(queue, cancelled["Queue"]);
        Assert.Equal(subscribed["ConsumerTag"], cancelled["ConsumerTag"]);
        Assert.Equal(ch.ChannelNumber, cancelled["Channel"]);
    }

    [Fact]
    public async Task An_application_callback_that_throws_is_logged_at_Debug_and_reported_to_OnError()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(Options("nucleon-log-callback", log));
        var reported = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.OnError((_, ex) =>
        {
            reported.TrySetResult(ex);
            return ValueTask.CompletedTask;
        });
        await conn.ConnectAsync(ct);
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: ct);
        ch.OnReturn(_ => throw new InvalidOperationException("return handler bug"));
        await ch.PublishAsync("", BrokerConnectionInfo.UniqueName("nucleon-log-nowhere"), "x"u8.ToArray(), mandatory: true, cancellationToken: ct);

        Assert.IsType<AmqpCallbackException>(await reported.Task.WaitAsync(ct));
        var failed = Assert.Single(log.Events(LogEvents.CallbackFailed));
        Assert.Equal(LogLevel.Debug, failed.Level);
        Assert.Equal("return handler bug", failed.Exception!.Message);
        Assert.Contains("OnReturn", (string)failed["Callback"]!, StringComparison.Ordinal);
        Assert.Single(log.Events(LogEvents.Returned));
    }

    [Fact]
    public async Task Publishing_confirming_consuming_and_acking_do_no_logging_work_per_message_even_at_Trace()
    {
        const int Messages = 300;
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(Options("nucleon-log-quiet", log));
        await conn.ConnectAsync(ct);
        await using var consumerChannel = await conn.AllocateChannelAsync(cancellationToken: ct);
        string queue = (await consumerChannel.QueueDeclareAsync(exclusive: true, cancellationToken: ct)).QueueName;
        await using var consumer = consumerChannel.ConsumeAsync(queue, cancellationToken: ct).GetAsyncEnumerator(ct);

        // Warm up: the first subscription, the pool's first channel.
        await PublishAsync(conn, queue, "warm-up", ct);
        Assert.True(await consumer.MoveNextAsync());
        await consumer.Current.AckAsync();
        int entries = log.Entries.Count;
        long checks = log.IsEnabledCalls;

        for (int i = 0; i < Messages; i++)
        {
            await PublishAsync(conn, queue, "m", ct);
            Assert.True(await consumer.MoveNextAsync());
            await consumer.Current.AckAsync();
        }

        Assert.Equal(entries, log.Entries.Count);
        Assert.Equal(checks, log.IsEnabledCalls); // not even a level check per message
    }

    private AmqpConnectionOptions Options(string name, RecordingLoggerProvider log) =>
        AmqpConnectionOptions.Parse(broker.AmqpUri) with
        {
            ClientProvidedName = name,
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
            LoggerFactory = log.CreateFactory(),
        };

    private static async Task PublishAsync(AmqpConnection conn, string queue, string text, CancellationToken ct)
    {
        await using var ch = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct);
        await ch.PublishAsync("", queue, Encoding.UTF8.GetBytes(text), cancellationToken: ct);
    }

    // Redeliveries of earlier messages may come first.
    private static async Task ReceiveAsync(Channel<string> received, string text, CancellationToken ct)
    {
        while (await received.Reader.ReadAsync(ct) != text)
        {
        }
    }

    private static void AssertInOrder(IEnumerable<LogEntry> entries, params int[] expected)
    {
        var ids = entries.Select(e => e.EventId.Id).ToList();
        int at = 0;
        foreach (int id in ids)
        {
            if (at < expected.Length && id == expected[at])
            {
                at++;
            }
        }

        Assert.True(at == expected.Length, $"Expected the events [{string.Join(", ", expected)}] in this order within [{string.Join(", ", ids)}].");
    }
}
