using System.Diagnostics;
using Nucleon.Pipes.Tests.Infrastructure;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Cluster;

/// <summary>
/// SIGKILL of one node of the 3-node cluster in each role while a client publishes with confirms to a
/// quorum queue (replicated on all three nodes) and another consumes it with the connection-level consumer.
/// Every node holds a member of the queue, so a node is always the leader or a follower; the cases differ
/// in which client connections it also holds. Each asserts that every confirmed message is consumed and that
/// publishing resumes after the kill (bounded by <see cref="ResumeBound"/>; the measured time is logged).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class QuorumFailoverTests(ClusterFixture cluster, ITestOutputHelper output)
{
    /// <summary>A generous bound, not a target: the issue expects a few seconds.</summary>
    private static readonly TimeSpan ResumeBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StepBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan TestBound = TimeSpan.FromMinutes(4);
    private const int ConfirmsBeforeKill = 300;
    private const int ConfirmsAfterResume = 300;
    private const int MaxIds = 100_000;

    [Fact]
    public Task Killing_the_follower_holding_the_publishers_and_consumers_connections_loses_no_confirmed_message() =>
        RunAsync(new Roles(Leader: 1, Publisher: 0, Consumer: 0, Victim: 0));

    [Fact]
    public Task Killing_the_quorum_leader_loses_no_confirmed_message() =>
        RunAsync(new Roles(Leader: 1, Publisher: 0, Consumer: 2, Victim: 1));

    [Fact]
    public Task Killing_a_follower_without_client_connections_loses_no_confirmed_message() =>
        RunAsync(new Roles(Leader: 1, Publisher: 0, Consumer: 0, Victim: 2));

    [Fact]
    public Task Killing_the_node_holding_the_quorum_leader_and_the_consumers_connection_loses_no_confirmed_message() =>
        RunAsync(new Roles(Leader: 2, Publisher: 0, Consumer: 2, Victim: 2));

    /// <remarks>
    /// After the kill the publisher reconnects at once and its first publishes may reach the dead leader; RabbitMQ
    /// can then nack every later publish on that channel while a fresh channel works. A channel that saw a nack
    /// never goes back to the pool, so the next rent gets a fresh one. The failure message includes a fresh-channel probe.
    /// </remarks>
    [Fact]
    public Task Killing_the_node_holding_the_quorum_leader_and_the_publishers_connection_loses_no_confirmed_message() =>
        RunAsync(new Roles(Leader: 0, Publisher: 0, Consumer: 2, Victim: 0));

    /// <summary>Node indexes: where the queue's leader, the publisher's and the consumer's connections are, and which node is killed.</summary>
    private sealed record Roles(int Leader, int Publisher, int Consumer, int Victim);

    private async Task RunAsync(Roles roles)
    {
        using var deadline = new CancellationTokenSource(TestBound);
        var ct = deadline.Token;
        var sw = Stopwatch.StartNew();
        await cluster.EnsureAllRunningAsync();
        var nodes = cluster.Nodes;
        ClusterNode leaderNode = nodes[roles.Leader], publisherNode = nodes[roles.Publisher], consumerNode = nodes[roles.Consumer], victim = nodes[roles.Victim];
        var queue = ClusterTestSupport.QueueName("failover");

        await using (var setup = new AmqpConnection(ClusterTestSupport.Options(cluster, leaderNode, "failover-setup")))
        {
            await setup.ConnectAsync(ct);
            await ClusterTestSupport.DeclareQuorumQueueAsync(setup, queue, ct);
        }

        var before = await cluster.QueueStatusAsync(queue);
        Assert.NotNull(before);
        Assert.True(before.Leader == leaderNode.NodeName && before.Online.Count == ClusterFixture.Size, $"placement: {before}");
        await cluster.SyncQuorumRegistryAsync(victim);

        await using var publisherConnection = new AmqpConnection(ClusterTestSupport.Options(cluster, publisherNode, "failover-publisher"));
        publisherConnection.OnConnect((c, t) => ClusterTestSupport.DeclareQuorumQueueAsync(c, queue, t));
        await using var consumerConnection = new AmqpConnection(ClusterTestSupport.Options(cluster, consumerNode, "failover-consumer"));
        consumerConnection.OnConnect((c, t) => ClusterTestSupport.DeclareQuorumQueueAsync(c, queue, t));
        await publisherConnection.ConnectAsync(ct);
        await consumerConnection.ConnectAsync(ct);
        var perNode = await cluster.ConnectionsPerNodeAsync();
        Assert.Contains(perNode[publisherNode.NodeName!], c => c.ClientProvidedName == "failover-publisher");
        Assert.Contains(perNode[consumerNode.NodeName!], c => c.ClientProvidedName == "failover-consumer");
        output.WriteLine($"leader {leaderNode}, publisher on {publisherNode}, consumer on {consumerNode}; killing {victim} (setup {sw.Elapsed.TotalSeconds:0.0} s)");

        var publisher = new ConfirmedPublisher(publisherConnection, queue, MaxIds);
        var consumer = new IdConsumer(consumerConnection, queue);
        using var stopPublishing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var stopConsuming = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var publishTask = Task.Run(() => publisher.RunAsync(stopPublishing.Token), CancellationToken.None);
        var consumeTask = Task.Run(() => consumer.RunAsync(stopConsuming.Token), CancellationToken.None);
        try
        {
            await WaitUntilAsync(() => publisher.Confirmed.Count >= ConfirmsBeforeKill || publishTask.IsCompleted, StepBound,
                () => $"{ConfirmsBeforeKill} confirms before the kill (have {publisher.Confirmed.Count}; {publisher.FailureSummary})");
            Assert.False(publishTask.IsCompleted, $"the publisher stopped: {publishTask.Exception}");

            int confirmedAtKill = publisher.Confirmed.Count;
            publisher.WatchConfirmGaps();
            var killing = Stopwatch.StartNew();
            await cluster.KillAsync(victim);
            killing.Stop();
            publisher.MarkFault(); // after the kill returned: the node's process is gone
            try
            {
                await WaitUntilAsync(() => publisher.ResumedAfter is not null || publishTask.IsCompleted, ResumeBound,
                    () => $"a publish started after the kill to be confirmed ({publisher.FailureSummary})");
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message} Then {await FreshChannelProbeAsync(publisherConnection, queue)}.", ex);
            }

            Assert.False(publishTask.IsCompleted, $"the publisher stopped: {publishTask.Exception}");
            output.WriteLine($"publishing resumed {publisher.ResumedAfter!.Value.TotalMilliseconds:0} ms after the kill command returned (it took {killing.ElapsedMilliseconds} ms); " +
                $"longest time without a confirm, kill command included: {publisher.LongestConfirmGap.TotalMilliseconds:0} ms; {publisher.FailureSummary}");

            await WaitUntilAsync(() => publisher.Confirmed.Count >= confirmedAtKill + ConfirmsAfterResume || publishTask.IsCompleted, StepBound,
                () => $"{ConfirmsAfterResume} more confirms after the kill (have {publisher.Confirmed.Count - confirmedAtKill}; {publisher.FailureSummary})");
            await stopPublishing.CancelAsync();
            await publishTask;

            await WaitUntilAsync(() => publisher.Confirmed.Keys.All(consumer.Received.ContainsKey) || consumeTask.IsCompleted, StepBound,
                () => $"every confirmed id to be consumed ({publisher.Confirmed.Keys.Count(id => !consumer.Received.ContainsKey(id))} missing)");
            await stopConsuming.CancelAsync();
            await consumeTask;

            var missing = publisher.Confirmed.Keys.Where(id => !consumer.Received.ContainsKey(id)).Order().ToList();
            output.WriteLine($"confirmed {publisher.Confirmed.Count}, consumed {consumer.Received.Count} distinct ids in {consumer.Deliveries} deliveries " +
                $"({consumer.AckFailures} failed acks); generations publisher {publisherConnection.Generation}, consumer {consumerConnection.Generation}; " +
                $"{sw.Elapsed.TotalSeconds:0.0} s");
            Assert.True(missing.Count == 0, $"{missing.Count} confirmed ids never consumed, e.g. {string.Join(", ", missing.Take(20))}");
        }
        finally
        {
            await stopPublishing.CancelAsync();
            await stopConsuming.CancelAsync();
            try
            {
                await Task.WhenAll(publishTask, consumeTask).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
            }
            catch (Exception)
            {
                // Only reached when the test already failed (on success both tasks were awaited): its assertion says why.
            }

            await DeleteQueueQuietlyAsync(publisherConnection, queue);
        }
    }

    /// <summary>
    /// Whether a freshly allocated confirm channel (not from the pool) gets a publish confirmed: tells a
    /// cluster that does not accept publishes apart from a pooled channel that keeps being nacked (issue 9, bug 8).
    /// </summary>
    private static async Task<string> FreshChannelProbeAsync(AmqpConnection connection, string queue)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await using var channel = await connection.AllocateChannelAsync(Confirming, cts.Token);
            await channel.PublishAsync("", queue, Body(-1), Persistent, cancellationToken: cts.Token);
            return "a freshly allocated confirm channel DOES get its publish confirmed (pooled channel stuck: issue 9 bug 8)";
        }
        catch (Exception ex)
        {
            return $"a freshly allocated confirm channel fails too: {ex.GetType().Name}: {ex.Message}";
        }
    }

    private static async Task DeleteQueueQuietlyAsync(AmqpConnection connection, string queue)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await using var channel = await connection.RentChannelAsync(cancellationToken: cts.Token);
            await channel.QueueDeleteAsync(queue, cancellationToken: cts.Token);
        }
        catch (Exception)
        {
            // The queue only costs memory on nodes that are stopped with the fixture.
        }
    }
}
