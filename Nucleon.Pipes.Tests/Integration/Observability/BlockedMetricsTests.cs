using Nucleon.Pipes.Tests.Integration.Faults;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Observability;

/// <summary>
/// The blocked-connections and outstanding-confirms instruments follow a memory alarm on a private node: while the
/// broker blocks the connection, it counts as blocked and the outstanding count matches its unconfirmed publishes;
/// after the alarm both go back to 0.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class BlockedMetricsTests(FaultBrokerFixture broker)
{
    [Fact]
    public async Task A_memory_alarm_shows_as_a_blocked_connection_and_outstanding_confirms_match_the_unconfirmed_publishes()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = cts.Token;
        using var metrics = new MetricsRecorder();
        string queue = QueueName("alarm-metrics");
        await using var conn = new AmqpConnection(Options(broker, "alarm-metrics") with { MeterFactory = metrics.Factory });
        conn.OnConnect(DeclareHook(queue));
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.Blocked += (_, _) => blocked.TrySetResult();
        await conn.ConnectAsync(ct);
        await using var channel = await conn.RentChannelAsync(Confirming, ct);
        await channel.PublishAsync("", queue, Body(0), cancellationToken: ct);
        Assert.Equal(0, Observed("nucleon.pipes.connections.blocked"));

        var publishes = new List<Task>();
        try
        {
            await broker.SetVmMemoryHighWatermarkAsync(0.000001);
            // The alarm takes effect a moment after rabbitmqctl returns: publish until the broker says blocked.
            long id = 1;
            while (!blocked.Task.IsCompleted)
            {
                publishes.Add(channel.PublishAsync("", queue, Body(id++), cancellationToken: ct).AsTask());
                await Task.WhenAny(blocked.Task, Task.Delay(TimeSpan.FromSeconds(2), ct));
            }

            Assert.Equal(1, Observed("nucleon.pipes.connections.blocked"));
            // While the broker holds the connection, the instrument counts exactly the publishes it has not confirmed
            // (whether the one that met the alarm was confirmed first is the broker's timing; both are covered).
            await WaitUntilAsync(
                () => Observed("nucleon.pipes.publish.confirms.outstanding") == publishes.Count(t => !t.IsCompleted),
                TimeSpan.FromSeconds(30), "outstanding confirms = unconfirmed publishes");
        }
        finally
        {
            await broker.SetVmMemoryHighWatermarkAsync(0.4);
        }

        await Task.WhenAll(publishes).WaitAsync(TimeSpan.FromSeconds(60), ct);
        await WaitUntilAsync(() => Observed("nucleon.pipes.connections.blocked") == 0, TimeSpan.FromSeconds(30), "unblocked");
        Assert.Equal(0, Observed("nucleon.pipes.publish.confirms.outstanding"));
        await DeleteQueueQuietlyAsync(broker, queue);

        double Observed(string name) => Assert.Single(metrics.Observe(), r => r.Name == name).Value;
    }
}
