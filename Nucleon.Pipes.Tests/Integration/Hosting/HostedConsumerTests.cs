using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Nucleon.Pipes.Hosting;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Hosting;

/// <summary>AddAmqpConsumer against the real broker: concurrency, scopes, settlement policy and graceful stop.</summary>
[Collection(BrokerCollection.Name)]
public sealed class HostedConsumerTests(BrokerFixture broker) : HostingTestBase(broker)
{
    /// <summary>What the handlers saw, shared by every scope of one test.</summary>
    public sealed class Recorder
    {
        private int _running;
        private int _maxRunning;

        public ConcurrentDictionary<string, int> Handled { get; } = new();

        public ConcurrentDictionary<ScopeProbe, byte> Scopes { get; } = new();

        public ConcurrentQueue<long> DeliveryCounts { get; } = new();

        public int Concurrency { get; set; }

        public TaskCompletionSource AllRunning { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int MaxRunning => Volatile.Read(ref _maxRunning);

        public int HandledTotal => Handled.Values.Sum();

        public int Enter()
        {
            int now = Interlocked.Increment(ref _running);
            int max;
            while (now > (max = Volatile.Read(ref _maxRunning)) && Interlocked.CompareExchange(ref _maxRunning, now, max) != max)
            {
            }

            return now;
        }

        public void Exit() => Interlocked.Decrement(ref _running);

        public void Count(Message m) => Handled.AddOrUpdate(m.Properties.MessageId ?? "?", 1, (_, n) => n + 1);
    }

    /// <summary>A scoped service: one instance per message proves one scope per message.</summary>
    public sealed class ScopeProbe;

    /// <summary>Counts each message, a few at a time, with a short await so some are always in flight.</summary>
    public sealed class CountingHandler(Recorder recorder, ScopeProbe probe) : IAmqpMessageHandler
    {
        public async Task HandleAsync(AmqpMessageContext context, CancellationToken cancellationToken)
        {
            recorder.Enter();
            try
            {
                recorder.Scopes.TryAdd(probe, 0);
                await Task.Delay(1, cancellationToken);
                recorder.Count(context.Message);
            }
            finally
            {
                recorder.Exit();
            }
        }
    }

    /// <summary>Waits until Concurrency handlers are inside at once, then lets them all go.</summary>
    public sealed class GateHandler(Recorder recorder) : IAmqpMessageHandler
    {
        public async Task HandleAsync(AmqpMessageContext context, CancellationToken cancellationToken)
        {
            int now = recorder.Enter();
            try
            {
                if (now == recorder.Concurrency)
                {
                    recorder.AllRunning.TrySetResult();
                }

                await recorder.AllRunning.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
                await Task.Delay(2, cancellationToken);
                recorder.Count(context.Message);
            }
            finally
            {
                recorder.Exit();
            }
        }
    }

    /// <summary>Blocks on the first message until the test releases it.</summary>
    public sealed class BlockingHandler(Recorder recorder) : IAmqpMessageHandler
    {
        public async Task HandleAsync(AmqpMessageContext context, CancellationToken cancellationToken)
        {
            recorder.Entered.TrySetResult();
            await recorder.Release.Task.WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
            recorder.Count(context.Message);
        }
    }

    /// <summary>Waits for its token: only the shutdown timeout ends it.</summary>
    public sealed class UntilCancelledHandler(Recorder recorder) : IAmqpMessageHandler
    {
        public async Task HandleAsync(AmqpMessageContext context, CancellationToken cancellationToken)
        {
            recorder.Entered.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            finally
            {
                recorder.Count(context.Message);
            }
        }
    }

    /// <summary>Throws for every message, recording the delivery count it saw.</summary>
    public sealed class ThrowingHandler(Recorder recorder) : IAmqpMessageHandler
    {
        public Task HandleAsync(AmqpMessageContext context, CancellationToken cancellationToken)
        {
            recorder.Count(context.Message);
            recorder.DeliveryCounts.Enqueue(context.Message.Properties.Headers is { } h && h.TryGetValue("x-delivery-count", out var c) ? Convert.ToInt64(c, System.Globalization.CultureInfo.InvariantCulture) : 0);
            throw new InvalidOperationException("handler failure (test)");
        }
    }

    /// <summary>Settles by itself: "nack" messages are dead-lettered through the context, "ack-then-throw" are acked on Message and then it throws.</summary>
    public sealed class SelfSettlingHandler(Recorder recorder) : IAmqpMessageHandler
    {
        public async Task HandleAsync(AmqpMessageContext context, CancellationToken cancellationToken)
        {
            recorder.Count(context.Message);
            switch (System.Text.Encoding.UTF8.GetString(context.Message.Body.Span))
            {
                case "nack":
                    await context.NackAsync(requeue: false, cancellationToken);
                    break;
                case "ack-then-throw":
                    await context.Message.AckAsync(cancellationToken: cancellationToken);
                    throw new InvalidOperationException("after settling (test)");
            }
        }
    }

    private static readonly TimeSpan WaitBound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Host_stop_in_the_middle_of_10000_messages_loses_none_and_handles_none_twice()
    {
        const int Total = 10_000;
        using var budget = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = budget.Token;
        var q = await DeclareQueueAsync(what: "stop");
        await PublishManyAsync(q, Total, ct);

        var first = new Recorder();
        await using (var host = BuildHost(b =>
        {
            b.Services.AddSingleton(first).AddScoped<ScopeProbe>();
            b.Services.AddAmqpConnection();
            b.Services.AddAmqpConsumer<CountingHandler>(q, o => o.Concurrency = 8);
        }))
        {
            await host.StartAsync(ct);
            while (first.HandledTotal < 2_000)
            {
                await Task.Delay(20, ct);
            }

            await host.StopAsync(TimeSpan.FromSeconds(30));
        }

        int handledByFirst = first.HandledTotal;
        Assert.InRange(handledByFirst, 2_000, Total - 1); // stopped in the middle
        Assert.All(first.Handled, kv => Assert.Equal(1, kv.Value));

        // Every message the first host handled was acked; everything else (prefetched included) is back.
        using (var settle = new CancellationTokenSource(WaitBound))
        {
            Assert.Equal((uint)(Total - handledByFirst), await WaitForReadyCountAsync(q, (uint)(Total - handledByFirst), settle.Token));
        }

        var second = new Recorder();
        await using (var host = BuildHost(b =>
        {
            b.Services.AddSingleton(second).AddScoped<ScopeProbe>();
            b.Services.AddAmqpConnection();
            b.Services.AddAmqpConsumer<CountingHandler>(q, o => o.Concurrency = 8);
        }))
        {
            await host.StartAsync(ct);
            while (second.HandledTotal < Total - handledByFirst)
            {
                await Task.Delay(20, ct);
            }

            await host.StopAsync(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(Total - handledByFirst, second.HandledTotal);
        Assert.All(second.Handled, kv => Assert.Equal(1, kv.Value));
        var all = first.Handled.Keys.Concat(second.Handled.Keys).ToHashSet();
        Assert.Equal(Total, all.Count); // each id once across both hosts, none lost
        Assert.Equal(0u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Concurrency_N_runs_N_handlers_at_once_and_never_more_each_in_its_own_scope()
    {
        const int N = 4, Count = 40;
        var q = await DeclareQueueAsync(what: "conc");
        await PublishManyAsync(q, Count, Ct);
        var recorder = new Recorder { Concurrency = N };
        await using var host = BuildHost(b =>
        {
            b.Services.AddSingleton(recorder).AddScoped<ScopeProbe>();
            b.Services.AddAmqpConnection();
            b.Services.AddAmqpConsumer<GateHandler>(q, o => o.Concurrency = N);
            b.Services.AddAmqpConsumer<CountingHandler>(NewQueue("unused-never-declared-is-fine"), o => o.Concurrency = 1);
        });
        await host.StartAsync(Ct);

        await recorder.AllRunning.Task.WaitAsync(WaitBound, Ct); // N at once
        while (recorder.HandledTotal < Count)
        {
            await Task.Delay(20, Ct);
        }

        Assert.Equal(N, recorder.MaxRunning); // never more
        Assert.Equal(Count, recorder.Handled.Count);
        using var settle = new CancellationTokenSource(WaitBound);
        Assert.Equal(0u, await WaitForReadyCountAsync(q, 0, settle.Token));
        await host.StopAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0u, await ReadyCountAsync(q)); // all acked, none requeued by the stop
    }

    [Fact]
    public async Task Each_message_gets_a_new_scope()
    {
        const int Count = 20;
        var q = await DeclareQueueAsync(what: "scope");
        await PublishManyAsync(q, Count, Ct);
        var recorder = new Recorder();
        await using var host = BuildHost(b =>
        {
            b.Services.AddSingleton(recorder).AddScoped<ScopeProbe>();
            b.Services.AddAmqpConnection();
            b.Services.AddAmqpConsumer<CountingHandler>(q, o => o.Concurrency = 3);
        });
        await host.StartAsync(Ct);
        while (recorder.HandledTotal < Count)
        {
            await Task.Delay(20, Ct);
        }

        Assert.Equal(Count, recorder.Scopes.Count);
    }

    [Fact]
    public async Task Stop_lets_the_handler_in_flight_finish_and_acks_it_and_hands_prefetched_messages_back()
    {
        var q = await DeclareQueueAsync(what: "graceful");
        await PublishManyAsync(q, 5, Ct);
        var recorder = new Recorder();
        await using var host = BuildHost(b =>
        {
            b.Services.AddSingleton(recorder);
            b.Services.AddAmqpConnection();
            b.Services.AddAmqpConsumer<BlockingHandler>(q, o => { o.Concurrency = 1; o.Prefetch = 5; });
        });
        await host.StartAsync(Ct);
        await recorder.Entered.Task.WaitAsync(WaitBound, Ct);
        Assert.Equal(0u, await ReadyCountAsync(q)); // all 5 prefetched: 1 in the handler, 4 waiting

        var stop = host.StopAsync(TimeSpan.FromSeconds(30));
        await AssertStaysPendingAsync(stop, "host stop while a handler is in flight");
        recorder.Release.TrySetResult();
        await stop.WaitAsync(WaitBound, Ct);

        Assert.Equal(1, recorder.HandledTotal);
        Assert.Equal(4u, await ReadyCountAsync(q)); // the finished one acked, the 4 unhandled back in the queue
    }

    [Fact]
    public async Task A_handler_still_running_when_the_shutdown_timeout_ends_is_cancelled_and_its_message_requeued()
    {
        var (q, dlq) = await DeclareWithDeadLetterAsync(quorum: false);
        await PublishManyAsync(q, 3, Ct);
        var recorder = new Recorder();
        await using var host = BuildHost(b =>
        {
            b.Services.AddSingleton(recorder);
            b.Services.AddAmqpConnection();
            b.Services.AddAmqpConsumer<UntilCancelledHandler>(q, o => { o.Concurrency = 2; o.Prefetch = 3; });
        });
        await host.StartAsync(Ct);
        await recorder.Entered.Task.WaitAsync(WaitBound, Ct);

        await host.StopAsync(TimeSpan.FromSeconds(2)); // the handlers' token fires when this runs out
        using var settle = new CancellationTokenSource(WaitBound);
        while (recorder.HandledTotal == 0)
        {
            await Task.Delay(20, settle.Token); // the handlers end by their token, moments after the stop gave up on them
        }

        Assert.Equal(3u, await WaitForReadyCountAsync(q, 3, settle.Token)); // all back in the queue
        Assert.Equal(0u, await ReadyCountAsync(dlq));
    }

    [Fact]
    public async Task Handler_exception_dead_letters_the_message_and_the_next_one_is_still_handled()
    {
        var (q, dlq) = await DeclareWithDeadLetterAsync(quorum: false);
        await PublishConfirmedAsync("", q, "poison", new BasicProperties { MessageId = "p" });
        var recorder = new Recorder();
        await using var host = BuildHost(b =>
        {
            b.Services.AddSingleton(recorder);
            b.Services.AddAmqpConnection();
            b.Services.AddAmqpConsumer<ThrowingHandler>(q);
        });
        await host.StartAsync(Ct);

        var dead = await GetWithinAsync(dlq);
        Assert.Equal("poison", Text(dead));
        await PublishConfirmedAsync("", q, "poison 2", new BasicProperties { MessageId = "p2" });
        Assert.Equal("poison 2", Text(await GetWithinAsync(dlq)));
        Assert.Equal(1, recorder.Handled["p"]); // not requeued: handled once
        Assert.Equal(0u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Requeue_policy_requeues_until_x_delivery_count_reaches_the_limit_then_dead_letters()
    {
        var (q, dlq) = await DeclareWithDeadLetterAsync(quorum: true);
        await PublishConfirmedAsync("", q, "poison", new BasicProperties { MessageId = "p" });
        var recorder = new Recorder();
        await using var host = BuildHost(b =>
        {
            b.Services.AddSingleton(recorder);
            b.Services.AddAmqpConnection();
            b.Services.AddAmqpConsumer<ThrowingHandler>(q, o => { o.FailurePolicy = AmqpFailurePolicy.Requeue; o.MaxRedeliveries = 2; });
        });
        await host.StartAsync(Ct);

        Assert.Equal("poison", Text(await GetWithinAsync(dlq)));
        Assert.Equal(3, recorder.Handled["p"]); // first delivery + 2 redeliveries
        Assert.Equal([0L, 1L, 2L], recorder.DeliveryCounts.ToArray());
    }

    [Fact]
    public async Task A_handler_that_settles_the_message_itself_decides()
    {
        var (q, dlq) = await DeclareWithDeadLetterAsync(quorum: false);
        var recorder = new Recorder();
        await using var host = BuildHost(b =>
        {
            b.Services.AddSingleton(recorder);
            b.Services.AddAmqpConnection();
            b.Services.AddAmqpConsumer<SelfSettlingHandler>(q);
        });
        await host.StartAsync(Ct);

        // Returns normally after nacking without requeue: dead-lettered, not acked on top (which would close the channel).
        await PublishConfirmedAsync("", q, "nack", new BasicProperties { MessageId = "n" });
        Assert.Equal("nack", Text(await GetWithinAsync(dlq)));
        // Acks on Message, then throws: stays acked, not nacked on top.
        await PublishConfirmedAsync("", q, "ack-then-throw", new BasicProperties { MessageId = "a" });
        await PublishConfirmedAsync("", q, "plain", new BasicProperties { MessageId = "c" });
        while (recorder.HandledTotal < 3)
        {
            await Task.Delay(20, Ct);
        }

        using var settle = new CancellationTokenSource(WaitBound);
        Assert.Equal(0u, await WaitForReadyCountAsync(q, 0, settle.Token));
        await host.StopAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0u, await ReadyCountAsync(q)); // nothing was left unacked to come back
        Assert.Equal(1, recorder.Handled["a"]);
        Assert.Equal(1, recorder.Handled["c"]);
        Assert.Null(await (await Conn.AllocateChannelAsync(cancellationToken: Ct)).GetAsync(dlq, autoAck: true, cancellationToken: Ct));
    }

    private async Task<(string Queue, string DeadLetterQueue)> DeclareWithDeadLetterAsync(bool quorum)
    {
        var dlx = NewExchange("dlx");
        var dlq = NewQueue("dlq");
        var q = NewQueue(quorum ? "quorum" : "main");
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(dlx, ExchangeType.Fanout, cancellationToken: Ct);
        await ch.QueueDeclareAsync(dlq, cancellationToken: Ct);
        await ch.QueueBindAsync(dlq, dlx, "", cancellationToken: Ct);
        var args = new Dictionary<string, object?> { ["x-dead-letter-exchange"] = dlx };
        if (quorum)
        {
            args["x-queue-type"] = "quorum";
        }

        await ch.QueueDeclareAsync(q, durable: quorum, arguments: args, cancellationToken: Ct);
        return (q, dlq);
    }

    /// <summary>basic.get until a message arrives (bounded).</summary>
    private async Task<Message> GetWithinAsync(string queue)
    {
        using var bound = new CancellationTokenSource(WaitBound);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        while (true)
        {
            bound.Token.ThrowIfCancellationRequested();
            if (await ch.GetAsync(queue, autoAck: true, cancellationToken: Ct) is { } m)
            {
                return m.Detach();
            }

            await Task.Delay(50, Ct);
        }
    }
}
