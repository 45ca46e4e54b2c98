using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary>Ten thousand confirmed publishes from 50 tasks on rented channels while connections are force-closed.</summary>
[Collection(FaultCollection.Name)]
public sealed class PublishStormTests(FaultBrokerFixture broker, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_publish_is_confirmed_or_republished_and_the_queue_holds_every_id()
    {
        const int Tasks = 50;
        int total = Soak ? 100_000 : 10_000;
        int closes = Soak ? 20 : 4;
        using var deadline = new CancellationTokenSource(Soak ? TimeSpan.FromMinutes(15) : TimeSpan.FromMinutes(2));
        var ct = deadline.Token;
        var sw = Stopwatch.StartNew();
        string queue = QueueName("storm");
        await using var conn = new AmqpConnection(Options(broker, "storm"));
        conn.OnConnect(DeclareHook(queue));
        await conn.ConnectAsync(ct);

        var failures = new ConcurrentDictionary<string, int>();
        long failed = 0;
        var closer = Task.Run(async () =>
        {
            for (int k = 1; k <= closes; k++)
            {
                await Task.Delay(300, ct);
                await broker.CloseAllConnectionsAsync($"storm close {k}");
            }
        }, ct);

        var publishers = Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            for (long id = t; id < total; id += Tasks)
            {
                while (true)
                {
                    try
                    {
                        await using var channel = await conn.RentChannelAsync(Confirming, ct);
                        await channel.PublishAsync("", queue, Body(id), cancellationToken: ct);
                        break;
                    }
                    catch (AmqpException ex)
                    {
                        // Not confirmed: the outcome is unknown, so publish it again (a duplicate at worst).
                        Interlocked.Increment(ref failed);
                        failures.AddOrUpdate(ex.GetType().Name, 1, (_, n) => n + 1);
                    }
                }

                if (!closer.IsCompleted)
                {
                    await Task.Delay(40, ct); // keep publishing spread over the whole fault period
                }
            }
        }, ct)).ToList();

        await Task.WhenAll(publishers);
        await closer;
        var published = sw.Elapsed;

        // Count what the queue holds, then read exactly that many messages.
        uint count;
        await using (var channel = await conn.RentChannelAsync(cancellationToken: ct))
        {
            count = (await channel.QueueDeclareAsync(queue, passive: true, cancellationToken: ct)).MessageCount;
        }

        var seen = new Dictionary<long, int>();
        using (var reading = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            reading.CancelAfter(TimeSpan.FromSeconds(60));
            await foreach (var m in conn.ConsumeAsync(queue, new ConsumeOptions { AutoAck = true }, reading.Token))
            {
                long id = Id(m.Body);
                seen[id] = seen.GetValueOrDefault(id) + 1;
                if (seen.Values.Sum() == count)
                {
                    break;
                }
            }
        }

        long duplicates = count - total;
        output.WriteLine($"{total} publishes from {Tasks} tasks with {closes} forced closes: published in {published.TotalSeconds:0.0} s, total {sw.Elapsed.TotalSeconds:0.0} s, generation {conn.Generation}");
        output.WriteLine($"queue held {count} messages: duplicates {duplicates}; failed publishes republished {failed} ({string.Join(", ", failures.Select(f => $"{f.Key} x{f.Value}"))})");
        Assert.True(conn.Generation >= 3, $"only {conn.Generation - 1} of {closes} forced closes hit the connection");
        Assert.Equal(total, seen.Count);
        Assert.True(Enumerable.Range(0, total).All(i => seen.ContainsKey(i)));
        Assert.InRange(duplicates, 0, failed);
        // A publish fails only if it was in flight when its connection went: a few per task per close. Channels of a
        // connection the broker had closed were once still handed out, and each publish on them failed at once: a
        // retry loop spun through hundreds of thousands of failures.
        Assert.True(failed <= 4L * Tasks * closes, $"{failed} failed publishes for {closes} closes of {Tasks} publishing tasks");
        await using (var channel = await conn.RentChannelAsync(cancellationToken: ct))
        {
            Assert.Equal(0u, (await channel.QueueDeclareAsync(queue, passive: true, cancellationToken: ct)).MessageCount);
            await channel.QueueDeleteAsync(queue, cancellationToken: ct);
        }
    }
}
