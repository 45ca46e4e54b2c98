using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary><c>rabbitmqctl close_all_connections</c> (320 CONNECTION_FORCED) while the application publishes and consumes.</summary>
[Collection(FaultCollection.Name)]
public sealed class ForcedCloseTests(FaultBrokerFixture broker, ITestOutputHelper output)
{
    [Fact]
    public async Task Application_loops_see_only_the_exceptions_they_ask_for_and_hooks_run_once_per_generation()
    {
        int closes = Soak ? 30 : 5;
        using var deadline = new CancellationTokenSource(Soak ? TimeSpan.FromMinutes(15) : TimeSpan.FromMinutes(2));
        var ct = deadline.Token;
        var sw = Stopwatch.StartNew();
        string queue = QueueName("forced");

        int hookRuns = 0, reconnected = 0, lost = 0;
        var errors = new ConcurrentQueue<Exception>();
        var unexpected = new ConcurrentQueue<Exception>();
        await using var conn = new AmqpConnection(Options(broker, "forced-close"));
        var declare = DeclareHook(queue);
        conn.OnConnect(async (c, t) =>
        {
            Interlocked.Increment(ref hookRuns);
            await declare(c, t);
        });
        conn.OnError((_, ex) =>
        {
            errors.Enqueue(ex);
            return ValueTask.CompletedTask;
        });
        conn.Reconnected += (_, _) => Interlocked.Increment(ref reconnected);
        conn.ConnectionLost += (_, _) => Interlocked.Increment(ref lost);
        await conn.ConnectAsync(ct);

        var confirmed = new ConcurrentDictionary<long, byte>();
        var received = new ConcurrentDictionary<long, int>();
        long republished = 0, failedAcks = 0;

        using var stopConsuming = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var consumeTask = Task.Run(async () =>
        {
            try
            {
                await foreach (var m in conn.ConsumeAsync(queue, cancellationToken: stopConsuming.Token))
                {
                    received.AddOrUpdate(Id(m.Body), 1, (_, n) => n + 1);
                    try
                    {
                        await m.AckAsync();
                    }
                    catch (AmqpConnectionLostException)
                    {
                        Interlocked.Increment(ref failedAcks); // asked for: the broker redelivers it
                    }
                }

                unexpected.Enqueue(new InvalidOperationException("The connection-level consumer ended while the connection was open."));
            }
            catch (OperationCanceledException) when (stopConsuming.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                unexpected.Enqueue(ex);
            }
        }, CancellationToken.None);

        using var stopPublishing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var publishTask = Task.Run(async () =>
        {
            long id = 0;
            while (!stopPublishing.IsCancellationRequested)
            {
                try
                {
                    await using var channel = await conn.RentChannelAsync(Confirming, stopPublishing.Token);
                    await channel.PublishAsync("", queue, Body(id), cancellationToken: stopPublishing.Token);
                    confirmed.TryAdd(id, 0);
                    id++;
                }
                catch (AmqpConnectionLostException)
                {
                    Interlocked.Increment(ref republished); // asked for: publish the same id again
                }
                catch (OperationCanceledException) when (stopPublishing.IsCancellationRequested)
                {
                }
                catch (Exception ex)
                {
                    unexpected.Enqueue(ex);
                    return;
                }
            }
        }, CancellationToken.None);

        for (int k = 1; k <= closes; k++)
        {
            int confirms = confirmed.Count + 100, consumed = received.Count + 50;
            await WaitUntilAsync(() => (confirmed.Count >= confirms && received.Count >= consumed) || publishTask.IsCompleted || consumeTask.IsCompleted,
                TimeSpan.FromSeconds(30), () => $"traffic before close {k} (generation {conn.Generation}, confirmed {confirmed.Count}, consumed {received.Count})");
            Assert.True(unexpected.IsEmpty, string.Join("\n---\n", unexpected));
            await broker.CloseAllConnectionsAsync($"fault test close {k}");
            await WaitUntilAsync(() => conn.Generation > k && conn.IsConnected, TimeSpan.FromSeconds(30), () => $"reconnect after close {k} (generation {conn.Generation})");
        }

        int final = confirmed.Count + 100;
        await WaitUntilAsync(() => confirmed.Count >= final || publishTask.IsCompleted, TimeSpan.FromSeconds(30), "confirms after the last close");
        await stopPublishing.CancelAsync();
        await publishTask;
        await WaitUntilAsync(() => confirmed.Keys.All(received.ContainsKey) || consumeTask.IsCompleted, TimeSpan.FromSeconds(30), "every confirmed id to be consumed");
        await stopConsuming.CancelAsync();
        await consumeTask;

        output.WriteLine($"{closes} forced closes in {sw.Elapsed.TotalSeconds:0.0} s: generation {conn.Generation}, hook runs {hookRuns}, reconnected events {Volatile.Read(ref reconnected)}, lost events {Volatile.Read(ref lost)}");
        output.WriteLine($"confirmed {confirmed.Count}, consumed {received.Count} distinct ({received.Values.Sum() - received.Count} duplicates), republished {republished}, failed acks {failedAcks}");
        output.WriteLine($"OnError heard {errors.Count}: " + string.Join(" | ", errors.Select(e => e.GetType().Name).GroupBy(n => n).Select(g => $"{g.Key} x{g.Count()}")));
        Assert.True(unexpected.IsEmpty, string.Join("\n---\n", unexpected));
        Assert.Equal(1 + closes, conn.Generation);
        Assert.Equal(conn.Generation, Volatile.Read(ref hookRuns));
        var missing = confirmed.Keys.Where(id => !received.ContainsKey(id)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} confirmed ids never consumed");
        await WaitUntilAsync(() => Volatile.Read(ref reconnected) == closes && Volatile.Read(ref lost) == closes, TimeSpan.FromSeconds(5),
            () => $"events: reconnected {reconnected}, lost {lost}, generation {conn.Generation}");

        await DeleteQueueQuietlyAsync(broker, queue);
    }
}
