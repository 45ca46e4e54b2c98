using System.Diagnostics;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary>A memory alarm (<c>set_vm_memory_high_watermark</c> to a tiny value): connection.blocked / unblocked with no publish lost.</summary>
[Collection(FaultCollection.Name)]
public sealed class MemoryAlarmTests(FaultBrokerFixture broker, ITestOutputHelper output)
{
    [Fact]
    public async Task Publishes_wait_while_blocked_and_are_all_confirmed_after_unblocked()
    {
        const int WhileBlocked = 50;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = cts.Token;
        string queue = QueueName("alarm");
        await using var conn = new AmqpConnection(Options(broker, "alarm-publisher"));
        conn.OnConnect(DeclareHook(queue));
        var blocked = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var unblocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.Blocked += (_, e) => blocked.TrySetResult(e.Reason);
        conn.Unblocked += (_, _) => unblocked.TrySetResult();
        await conn.ConnectAsync(ct);
        await using var channel = await conn.RentChannelAsync(Confirming, ct);
        await channel.PublishAsync("", queue, Body(0), cancellationToken: ct);

        var publishes = new List<Task>();
        var triggers = new List<long>();
        try
        {
            await broker.SetVmMemoryHighWatermarkAsync(0.000001);
            var sw = Stopwatch.StartNew();

            // RabbitMQ blocks a connection (and says so) when it publishes during the alarm. The alarm takes effect a
            // moment after rabbitmqctl returns, so a publish that gets in before it does not block: publish another
            // trigger every 2 s until the broker says blocked (ids from 1000 on; they must all arrive too).
            publishes.Add(channel.PublishAsync("", queue, Body(1), cancellationToken: ct).AsTask());
            long trigger = 1000;
            while (!blocked.Task.IsCompleted && sw.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.WhenAny(blocked.Task, Task.Delay(TimeSpan.FromSeconds(2), ct));
                if (!blocked.Task.IsCompleted)
                {
                    triggers.Add(trigger);
                    publishes.Add(channel.PublishAsync("", queue, Body(trigger++), cancellationToken: ct).AsTask());
                }
            }

            var reason = await blocked.Task.WaitAsync(TimeSpan.FromSeconds(1), ct);
            output.WriteLine($"blocked after {sw.Elapsed.TotalSeconds:0.00} s and {triggers.Count} extra triggers: {reason}");
            Assert.True(conn.IsBlocked);

            for (int id = 2; id < 2 + WhileBlocked; id++)
            {
                publishes.Add(channel.PublishAsync("", queue, Body(id), cancellationToken: ct).AsTask());
            }

            await Task.Delay(TimeSpan.FromSeconds(1), ct);
            Assert.Equal(0, publishes.Count(t => t.IsCompleted));
        }
        finally
        {
            await broker.SetVmMemoryHighWatermarkAsync(0.4);
        }

        await unblocked.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.False(conn.IsBlocked);
        await Task.WhenAll(publishes).WaitAsync(TimeSpan.FromSeconds(60), ct);

        var seen = new HashSet<long>();
        int deliveries = 0;
        using var consuming = CancellationTokenSource.CreateLinkedTokenSource(ct);
        consuming.CancelAfter(TimeSpan.FromSeconds(60));
        await foreach (var m in conn.ConsumeAsync(queue, cancellationToken: consuming.Token))
        {
            seen.Add(Id(m.Body));
            deliveries++;
            await m.AckAsync();
            if (seen.Count == 2 + WhileBlocked + triggers.Count)
            {
                break;
            }
        }

        output.WriteLine($"consumed {deliveries} deliveries, {seen.Count} distinct ids");
        Assert.Equal(Enumerable.Range(0, 2 + WhileBlocked).Select(i => (long)i).Concat(triggers), seen.Order());
        Assert.Equal(seen.Count, deliveries);
        await DeleteQueueQuietlyAsync(broker, queue);
    }
}
