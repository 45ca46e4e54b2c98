using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Connection;

/// <summary>
/// Tests whose margins are a few heartbeat intervals of one second: they run on their own broker, after
/// the parallel collections and alone, so that nodes being killed, restarted or stormed by other tests
/// cannot starve the broker or the client of CPU for seconds (seen: 5.7 s of silence on two cores).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitiveCollection : ICollectionFixture<BrokerFixture>
{
    public const string Name = "broker, run alone";
}

[Collection(TimingSensitiveCollection.Name)]
public sealed class IdleHeartbeatTests(BrokerFixture broker)
{
    private static readonly TimeSpan Timeout = BrokerFixture.CtlTestTimeout;

    [Fact]
    public async Task Heartbeat_of_one_second_is_negotiated_and_keeps_an_idle_connection_open()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string name = BrokerConnectionInfo.UniqueName("nucleon-heartbeat");
        await using var conn = new AmqpConnection(BrokerConnectionInfo.Uri(broker, $"heartbeat=1&connection_name={name}"));
        var disconnected = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.ConnectionLost += (_, e) => disconnected.TrySetResult(e.Cause);
        await conn.ConnectAsync(ct);

        Assert.Equal(TimeSpan.FromSeconds(1), conn.CurrentSession!.Heartbeat);
        var info = await BrokerConnectionInfo.FindAsync(broker, name);
        Assert.Equal(1, info.Timeout);

        // Idle for 3.5 s: well beyond two heartbeat intervals on both sides. Nothing must drop the connection.
        var outcome = await Task.WhenAny(disconnected.Task, Task.Delay(TimeSpan.FromSeconds(3.5), ct));
        if (outcome == disconnected.Task)
        {
            Assert.Fail($"The idle connection was lost: {await disconnected.Task}");
        }

        Assert.True(conn.IsConnected);
        Assert.Equal(1, conn.Generation);

        await using var ch = await conn.RentChannelAsync(cancellationToken: ct);
        await ch.QueueDeclareAsync(BrokerConnectionInfo.UniqueName("nucleon-heartbeat-q"), exclusive: true, cancellationToken: ct);
        Assert.Equal(info.Pid, (await BrokerConnectionInfo.FindAsync(broker, name)).Pid);
    }
}
