using System.Collections.Concurrent;
using System.Diagnostics;
using Nucleon.Pipes.Tests.Infrastructure;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary>
/// A randomized storm: for a bounded time (45 s, 10 min under NUCLEON_SOAK=1) several tasks run random
/// operations on one connection, each with a token that may fire at any moment, while the network
/// under the connection is cut now and then. Invariants are checked throughout and at the end: every
/// operation (every publish included) ends within a bound, the only errors are cancellations and
/// AMQP errors, no new connection appears without an injected cut, and afterwards no consumer, no
/// channel and no memory is left behind.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class CancellationStormTests(FaultBrokerFixture broker, ITestOutputHelper output)
{
    private const int Workers = 6;
    private const int PoolSize = 8;
    private static readonly TimeSpan OperationBound = TimeSpan.FromSeconds(60);

    private readonly ConcurrentQueue<string> _violations = new();
    private readonly ConcurrentDictionary<string, int> _outcomes = new();

    [Fact]
    public async Task Random_operations_with_random_cancellations_and_cuts_keep_every_invariant()
    {
        // NUCLEON_STORM_SECONDS overrides the length (to hunt a rare failure without the whole soak).
        var duration = int.TryParse(Environment.GetEnvironmentVariable("NUCLEON_STORM_SECONDS"), out int seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : Soak ? TimeSpan.FromMinutes(10) : TimeSpan.FromSeconds(45);
        var clock = Stopwatch.StartNew();
        var events = new ConcurrentQueue<string>(); // cuts and losses, in order, for the failure message
        using var monitor = new UnhandledExceptionMonitor();
        using var cts = new CancellationTokenSource(duration + TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        var queue = QueueName("storm");
        await using var conn = new AmqpConnection(ViaProxy(broker, proxy, "storm") with { ChannelPoolSize = PoolSize });
        conn.OnConnect(DeclareHook(queue));
        int lost = 0;
        conn.ConnectionLost += (_, e) =>
        {
            Interlocked.Increment(ref lost);
            events.Enqueue($"{clock.Elapsed.TotalSeconds:0.000} s lost: {e.Cause.GetType().Name}: {e.Cause.Message}");
        };
        await conn.ConnectAsync(ct);
        await WarmUpAsync(conn, queue, ct);
        long memoryBefore = SettledMemory();

        int cuts = 0;
        using var stop = new CancellationTokenSource(duration);
        var injector = Task.Run(async () =>
        {
            var rng = new Random(99);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(rng.Next(3_000, 8_000), stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                Interlocked.Increment(ref cuts);
                events.Enqueue($"{clock.Elapsed.TotalSeconds:0.000} s cut {cuts}");
                proxy.CutAll();
            }
        }, ct);
        var workers = Enumerable.Range(0, Workers).Select(i => Task.Run(() => WorkAsync(conn, queue, new Random(1000 + i), stop.Token), ct)).ToArray();
        await Task.WhenAll(workers).WaitAsync(duration + OperationBound + OperationBound, ct);
        await injector;

        output.WriteLine($"{cuts} cuts, {Volatile.Read(ref lost)} losses, generation {conn.Generation}; outcomes: "
            + string.Join(", ", _outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}={o.Value}")));
        Assert.True(_violations.IsEmpty, string.Join(Environment.NewLine, _violations.Take(20)));
        Assert.True(Volatile.Read(ref lost) <= cuts, $"{lost} connection losses for {cuts} injected cuts: " + string.Join(Environment.NewLine, events));
        Assert.True(conn.Generation - 1 <= cuts, $"generation {conn.Generation} after {cuts} injected cuts");
        Assert.True(_outcomes.GetValueOrDefault("publish ok") > 0, "no publish succeeded: the storm tested nothing");

        // Afterwards: connected, no orphan consumer, channels back to what the pools keep.
        await WaitUntilAsync(() => conn.IsConnected, TimeSpan.FromSeconds(60), "reconnect after the storm");
        await using (var ch = await conn.AllocateChannelAsync(cancellationToken: ct))
        {
            var sw = Stopwatch.StartNew();
            uint consumers;
            while ((consumers = (await ch.QueueDeclareAsync(queue, passive: true, cancellationToken: ct)).ConsumerCount) != 0)
            {
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"{consumers} orphan consumers on {queue}");
                await Task.Delay(100, ct);
            }
        }

        await WaitUntilAsync(() => conn.CurrentSession!.OpenChannelCount <= 2 * PoolSize, TimeSpan.FromSeconds(30),
            () => $"{conn.CurrentSession!.OpenChannelCount} channels still hold a number (pools keep at most {2 * PoolSize})");
        var listing = await broker.CtlAsync("list_consumers", "queue_name");
        Assert.DoesNotContain(queue, listing, StringComparison.Ordinal);

        long memoryAfter = SettledMemory();
        output.WriteLine($"managed memory {memoryBefore / 1024} KiB before, {memoryAfter / 1024} KiB after");
        Assert.True(memoryAfter < memoryBefore + (64L << 20), $"managed memory grew from {memoryBefore} to {memoryAfter} bytes");
        monitor.AssertNone();

        await using (var ch = await conn.AllocateChannelAsync(cancellationToken: ct))
        {
            await ch.QueueDeleteAsync(queue, cancellationToken: ct);
        }
    }

    private static long SettledMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task WarmUpAsync(AmqpConnection conn, string queue, CancellationToken ct)
    {
        await using var ch = await conn.RentChannelAsync(Confirming, ct);
        for (int i = 0; i < 100; i++)
        {
            await ch.PublishAsync("", queue, Body(i), cancellationToken: ct);
        }
    }

    private async Task WorkAsync(AmqpConnection conn, string queue, Random rng, CancellationToken stop)
    {
        long id = 0;
        while (!stop.IsCancellationRequested)
        {
            int op = rng.Next(7);
            using var token = RandomToken(rng);
            string name = op switch
            {
                0 or 1 => "publish",
                2 => "rent",
                3 => "declare",
                4 => "consume",
                5 => "get",
                _ => "close",
            };
            var sw = Stopwatch.StartNew();
            var operation = op switch
            {
                0 or 1 => PublishAsync(conn, queue, rng.Next(1, 50), id++, token.Token),
                2 => RentAsync(conn, rng, token.Token),
                3 => DeclareAsync(conn, queue, token.Token),
                4 => ConsumeAsync(conn, queue, rng, token.Token),
                5 => GetAsync(conn, queue, rng.Next(2) == 0, token.Token),
                _ => CloseAsync(conn, token.Token),
            };
            try
            {
                await operation.WaitAsync(OperationBound, CancellationToken.None);
                Count($"{name} ok");
            }
            catch (TimeoutException)
            {
                _violations.Enqueue($"{name} did not end within {OperationBound.TotalSeconds} s");
                return;
            }
            catch (OperationCanceledException)
            {
                Count($"{name} cancelled");
            }
            catch (AmqpException ex)
            {
                Count($"{name} {ex.GetType().Name}");
            }
            catch (Exception ex)
            {
                _violations.Enqueue($"{name} threw {ex}");
            }

            if (sw.Elapsed > OperationBound)
            {
                _violations.Enqueue($"{name} took {sw.Elapsed}");
            }
        }
    }

    private void Count(string outcome) => _outcomes.AddOrUpdate(outcome, 1, static (_, n) => n + 1);

    // A late token (1-3 s: most operations end first; a consume of an empty queue must end some time),
    // one already cancelled, or one that fires within 0-20 ms: the cancellation lands at a random stage.
    private static CancellationTokenSource RandomToken(Random rng)
    {
        var cts = new CancellationTokenSource();
        switch (rng.Next(4))
        {
            case 0:
                cts.CancelAfter(rng.Next(1_000, 3_000));
                break;
            case 1:
                cts.Cancel();
                break;
            default:
                cts.CancelAfter(rng.Next(0, 20));
                break;
        }

        return cts;
    }

    private static async Task PublishAsync(AmqpConnection conn, string queue, int count, long id, CancellationToken ct)
    {
        await using var ch = await conn.RentChannelAsync(Confirming, ct);
        var pending = new List<Task>(count);
        for (int i = 0; i < count; i++)
        {
            pending.Add(ch.PublishAsync("", queue, Body(id), cancellationToken: ct).AsTask());
        }

        // Every publish ends, confirmed or with an exception, within the bound (checked by the caller).
        await Task.WhenAll(pending);
    }

    private static async Task RentAsync(AmqpConnection conn, Random rng, CancellationToken ct)
    {
        if (rng.Next(2) == 0)
        {
            await using var ch = await conn.RentChannelAsync(rng.Next(2) == 0 ? null : Confirming, ct);
        }
        else
        {
            await using var ch = await conn.AllocateChannelAsync(cancellationToken: ct);
        }
    }

    private static async Task DeclareAsync(AmqpConnection conn, string queue, CancellationToken ct)
    {
        await using var ch = await conn.RentChannelAsync(cancellationToken: ct);
        await ch.QueueDeclareAsync(queue, passive: true, cancellationToken: ct);
    }

    private static async Task ConsumeAsync(AmqpConnection conn, string queue, Random rng, CancellationToken ct)
    {
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: ct);
        int take = rng.Next(1, 20);
        var options = new ConsumeOptions { Prefetch = (ushort)rng.Next(0, 20), AutoAck = rng.Next(4) == 0, InboxCapacity = 16 };
        await foreach (var m in ch.ConsumeAsync(queue, options, ct))
        {
            if (!options.AutoAck && rng.Next(3) != 0)
            {
                await m.AckAsync(cancellationToken: ct);
            }

            if (--take == 0)
            {
                break;
            }
        }
    }

    private static async Task GetAsync(AmqpConnection conn, string queue, bool autoAck, CancellationToken ct)
    {
        await using var ch = await conn.RentChannelAsync(cancellationToken: ct);
        if (await ch.GetAsync(queue, autoAck, ct) is { } m && !autoAck)
        {
            await m.AckAsync(cancellationToken: ct);
        }
    }

    private static async Task CloseAsync(AmqpConnection conn, CancellationToken ct)
    {
        var ch = await conn.AllocateChannelAsync(cancellationToken: ct);
        await ch.CloseAsync(ct);
    }
}
