using System.Diagnostics;
using Nucleon.Pipes.Tests.Integration.Cluster;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary>SIGKILL of the broker node during a confirmed publish stream into a durable quorum queue.</summary>
[Collection(FaultCollection.Name)]
public sealed class NodeKillTests(FaultBrokerFixture broker, ITestOutputHelper output)
{
    [Fact]
    public async Task Nothing_confirmed_is_lost_when_the_node_is_killed_and_restarted_five_times()
    {
        int kills = Soak ? 20 : 5;
        int confirmsBetweenKills = Soak ? 2_000 : 200;
        using var deadline = new CancellationTokenSource(Soak ? TimeSpan.FromMinutes(20) : TimeSpan.FromMinutes(3));
        var ct = deadline.Token;
        var sw = Stopwatch.StartNew();
        string queue = QueueName("kill");

        await using var publisher = new AmqpConnection(Options(broker, "kill-publisher"));
        publisher.OnConnect(DeclareHook(queue, quorum: true));
        await using var consumer = new AmqpConnection(Options(broker, "kill-consumer"));
        consumer.OnConnect(DeclareHook(queue, quorum: true));
        await publisher.ConnectAsync(ct);
        await consumer.ConnectAsync(ct);

        // RabbitMQ 3.10 registers a new quorum queue's Ra server in a DETS table that is synced only
        // every few minutes; a SIGKILL before that loses the registration and the queue never gets a
        // leader again after the restart. Sync now, as a node that ran for a while would have.
        await broker.CtlAsync("eval", "[dets:sync(T) || T <- dets:all()].");

        var stream = new ConfirmedPublisher(publisher, queue, int.MaxValue, batch: 50);
        var confirmed = stream.Confirmed;
        var failures = stream.Failures;
        var ids = new IdConsumer(consumer, queue, prefetch: 500);
        var received = ids.Received;

        using var stopConsuming = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var consumeTask = Task.Run(() => ids.RunAsync(stopConsuming.Token), CancellationToken.None);

        using var stopPublishing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var publishTask = Task.Run(() => stream.RunAsync(stopPublishing.Token), CancellationToken.None);

        var generationsBefore = publisher.Generation;
        for (int k = 1; k <= kills; k++)
        {
            int target = confirmed.Count + confirmsBetweenKills;
            await WaitUntilAsync(() => confirmed.Count >= target || publishTask.IsCompleted, TimeSpan.FromSeconds(60),
                () => $"{target} confirms before kill {k} (have {confirmed.Count}; {State(publisher)}; failures {string.Join(", ", failures.Select(f => $"{f.Key} x{f.Value}"))})");
            Assert.False(publishTask.IsCompleted, $"the publisher stopped: {publishTask.Exception}");

            // The kills follow the publisher's progress; the consumer (its own back-off) must be back too, or the
            // next kill finds it still reconnecting and "a generation per kill" below would not hold.
            int consumerGeneration = k;
            await WaitUntilAsync(() => consumer.Generation >= consumerGeneration && consumer.IsConnected, TimeSpan.FromSeconds(60),
                () => $"the consumer to reconnect before kill {k} (generation {consumer.Generation})");
            var t = Stopwatch.StartNew();
            await broker.KillNodeAsync();
            await broker.StartNodeAsync();
            output.WriteLine($"kill {k}: node killed and restarted in {t.Elapsed.TotalSeconds:0.0} s ({confirmed.Count} confirmed so far)");
        }

        int final = confirmed.Count + confirmsBetweenKills;
        await WaitUntilAsync(() => confirmed.Count >= final || publishTask.IsCompleted, TimeSpan.FromSeconds(60), "confirms after the last restart");
        await stopPublishing.CancelAsync();
        await publishTask;

        await WaitUntilAsync(() => confirmed.Keys.All(received.ContainsKey) || consumeTask.IsCompleted, TimeSpan.FromSeconds(60), "every confirmed id to be consumed");
        await stopConsuming.CancelAsync();
        await consumeTask;

        var missing = confirmed.Keys.Where(id => !received.ContainsKey(id)).OrderBy(id => id).ToList();
        long duplicates = ids.Deliveries - received.Count;
        output.WriteLine($"{kills} kills in {sw.Elapsed.TotalSeconds:0.0} s; publisher generation {publisher.Generation}, consumer generation {consumer.Generation}");
        output.WriteLine($"confirmed {confirmed.Count}, distinct ids consumed {received.Count}, deliveries {ids.Deliveries}, duplicates {duplicates}, failed acks {ids.AckFailures}");
        output.WriteLine("publish failures (republished): " + string.Join(", ", failures.Select(f => $"{f.Key} x{f.Value}")));
        Assert.True(missing.Count == 0, $"{missing.Count} confirmed ids never consumed, e.g. {string.Join(", ", missing.Take(20))}");
        Assert.True(publisher.Generation >= generationsBefore + kills, $"publisher generation {publisher.Generation}");
        Assert.True(consumer.Generation >= 1 + kills, $"consumer generation {consumer.Generation}");

        await DeleteQueueQuietlyAsync(broker, queue);
    }

    private static string State(AmqpConnection c) =>
        $"generation {c.Generation}, connected {c.IsConnected}, blocked {c.IsBlocked}, completion {c.Completion.Status}";
}
