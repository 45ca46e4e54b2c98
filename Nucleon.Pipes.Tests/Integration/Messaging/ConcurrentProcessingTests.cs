using System.Collections.Concurrent;
using System.Diagnostics;
using Nucleon.Pipes.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary><see cref="MessageProcessing.ProcessAsync"/>: N handlers at once on one consumer, each message once, settled per tag.</summary>
[Collection(BrokerCollection.Name)]
public sealed class ConcurrentProcessingTests(BrokerFixture broker, ITestOutputHelper output) : MessagingTestBase(broker)
{
    private async Task<string> QueueWithAsync(int count, IDictionary<string, object?>? arguments = null)
    {
        var q = await DeclareQueueAsync(arguments);
        await using var ch = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        for (int i = 0; i < count; i++)
        {
            await ch.PublishAsync("", q, Utf8($"m{i}"), cancellationToken: Ct);
        }

        return q;
    }

    /// <summary>Counts handlers in flight and their peak.</summary>
    private sealed class InFlight
    {
        private int _now;
        private int _peak;

        public int Peak => Volatile.Read(ref _peak);

        public void Enter()
        {
            int now = Interlocked.Increment(ref _now);
            int peak;
            while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
            {
            }
        }

        public void Exit() => Interlocked.Decrement(ref _now);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Eight_handlers_that_take_50_ms_each_run_side_by_side_and_handle_every_message_once(bool autoAck)
    {
        const int n = 8, count = 64;
        var q = await QueueWithAsync(count);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var handled = new ConcurrentDictionary<string, int>();
        var inFlight = new InFlight();
        long handlerTicks = 0;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var options = new ConsumeOptions { Prefetch = n, AutoAck = autoAck };
        var wall = Stopwatch.StartNew();
        var run = ch.ConsumeAsync(q, options).ProcessAsync(async (m, token) =>
        {
            var sw = Stopwatch.StartNew();
            inFlight.Enter();
            try
            {
                string body = Text(m);
                await Task.Delay(50, CancellationToken.None);
                Assert.Equal(body, Text(m)); // still this message's bytes after the others moved on
                handled.AddOrUpdate(body, 1, (_, c) => c + 1);
            }
            finally
            {
                inFlight.Exit();
                Interlocked.Add(ref handlerTicks, sw.ElapsedTicks);
            }

            if (handled.Count == count)
            {
                done.Cancel();
            }
        }, new ProcessOptions { Concurrency = n }, done.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        wall.Stop();
        Assert.False(Ct.IsCancellationRequested, "the test's own budget ran out");

        double handlerSeconds = (double)handlerTicks / Stopwatch.Frequency;
        output.WriteLine($"{count} messages, concurrency {n}: {wall.Elapsed.TotalMilliseconds:0} ms wall, {handlerSeconds * 1000:0} ms in handlers, {handlerSeconds / wall.Elapsed.TotalSeconds:0.0}x, peak {inFlight.Peak} in flight");
        Assert.Equal(count, handled.Count);
        Assert.All(handled, kv => Assert.Equal(1, kv.Value));
        Assert.Equal(n, inFlight.Peak); // N at once, never more
        // Sequential handlers would need their whole summed time; N side by side need about 1/N of it.
        Assert.True(wall.Elapsed.TotalSeconds < handlerSeconds / 2, $"wall {wall.Elapsed.TotalSeconds:0.00} s vs {handlerSeconds:0.00} s of handler time");
        Assert.Equal(0u, await ReadyCountAsync(q));
        await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct); // a round trip: no 406 came
        Assert.True(ch.IsOpen, $"channel closed: {ch.CloseReason}");
    }

    [Fact]
    public async Task A_concurrency_above_the_prefetch_is_refused()
    {
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        // Thrown by the call itself, before anything is subscribed.
        Assert.IsType<ArgumentException>(ThrowsAtOnce(() => new ValueTask(ch.ConsumeAsync("q", new ConsumeOptions { Prefetch = 2 }).ProcessAsync((_, _) => default, new ProcessOptions { Concurrency = 4 }, Ct))));
        Assert.IsType<ArgumentOutOfRangeException>(ThrowsAtOnce(() => new ValueTask(ch.ConsumeAsync("q").ProcessAsync((_, _) => default, new ProcessOptions { Concurrency = 0 }, Ct))));
    }

    [Fact]
    public async Task Failed_handlers_are_nacked_and_reported_and_acks_of_others_go_out_per_tag_in_any_order()
    {
        const int count = 20;
        var dlq = await DeclareQueueAsync(what: "dlq");
        var q = await QueueWithAsync(count, new Dictionary<string, object?> { ["x-dead-letter-exchange"] = "", ["x-dead-letter-routing-key"] = dlq });
        var reported = new ConcurrentBag<Exception>();
        Conn.OnError((_, ex) =>
        {
            reported.Add(ex);
            return ValueTask.CompletedTask;
        });
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        int seen = 0;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var rng = new Random(7);
        var run = ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 10 }).ProcessAsync(async (m, _) =>
        {
            int delay;
            lock (rng)
            {
                delay = rng.Next(0, 20);
            }

            await Task.Delay(delay, CancellationToken.None); // finish out of order
            bool fail = int.Parse(Text(m).AsSpan(1)) % 5 == 0;
            if (Interlocked.Increment(ref seen) == count)
            {
                done.Cancel();
            }

            if (fail)
            {
                throw new InvalidOperationException("poison " + Text(m));
            }
        }, new ProcessOptions { Concurrency = 5 }, done.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.False(Ct.IsCancellationRequested, "the test's own budget ran out");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await ReadyCountAsync(dlq) != 4 || reported.Count != 4)
        {
            Assert.True(DateTime.UtcNow < deadline, $"dead-lettered {await ReadyCountAsync(dlq)}, reported {reported.Count}");
            await Task.Delay(50, Ct);
        }

        Assert.Equal(0u, await ReadyCountAsync(q));
        Assert.All(reported, ex => Assert.StartsWith("poison", Assert.IsType<AmqpCallbackException>(ex).InnerException!.Message));
        Assert.True(ch.IsOpen, $"channel closed: {ch.CloseReason}");
    }

    [Fact]
    public async Task Shutdown_lets_running_handlers_settle_and_hands_back_what_was_not_handled()
    {
        const int count = 30;
        var q = await QueueWithAsync(count);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        int acked = 0, started = 0;
        var allBusy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 10 }).ProcessAsync(async (m, token) =>
        {
            if (Interlocked.Increment(ref started) == 4)
            {
                allBusy.TrySetResult();
            }

            await release.Task.WaitAsync(Ct); // keeps working after the stop: a handler may finish its message
            await m.AckAsync(cancellationToken: Ct);
            Interlocked.Increment(ref acked);
        }, new ProcessOptions { Concurrency = 4 }, stop.Token);
        await allBusy.Task.WaitAsync(Ct);
        stop.Cancel();
        await AssertStaysPendingAsync(run, "ProcessAsync with handlers still running");
        release.SetResult();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(4, Volatile.Read(ref started));
        Assert.Equal(4, Volatile.Read(ref acked));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        uint ready;
        while ((ready = await ReadyCountAsync(q)) != count - 4)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{ready} ready, expected {count - 4}");
            await Task.Delay(50, Ct);
        }

        Assert.True(ch.IsOpen, $"channel closed: {ch.CloseReason}");
    }
}
