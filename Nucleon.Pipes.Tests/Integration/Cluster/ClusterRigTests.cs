using Nucleon.Pipes.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Nucleon.Pipes.Tests.Integration.Cluster;

/// <summary>The cluster rig itself: three nodes in one cluster, leader placement, connections per node.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterRigTests(ClusterFixture cluster, ITestOutputHelper output)
{
    [Fact]
    public async Task A_quorum_queue_spans_the_three_nodes_with_its_leader_where_it_was_declared_and_connections_are_listed_per_node()
    {
        using var cts = new CancellationTokenSource(BrokerFixture.CtlTestTimeout);
        await cluster.EnsureAllRunningAsync();
        output.WriteLine($"cluster formed in {cluster.FormingTime.TotalSeconds:0.0} s: {string.Join(", ", cluster.Nodes)}");
        var declaringNode = cluster.Nodes[1];
        var queue = ClusterTestSupport.QueueName("rig");

        await using var connection = new AmqpConnection(ClusterTestSupport.Options(cluster, declaringNode, "rig-client"));
        await connection.ConnectAsync(cts.Token);
        await ClusterTestSupport.DeclareQuorumQueueAsync(connection, queue, cts.Token);

        var status = await cluster.QueueStatusAsync(queue);
        Assert.NotNull(status);
        output.WriteLine($"queue status: {status}");
        Assert.Equal("quorum", status.Type);
        Assert.Equal(declaringNode.NodeName, status.Leader);
        Assert.Equal(cluster.Nodes.Select(n => n.NodeName).Order(), status.Members.Order());

        var perNode = await cluster.ConnectionsPerNodeAsync();
        Assert.Equal(ClusterFixture.Size, perNode.Count);
        Assert.Contains(perNode[declaringNode.NodeName!], c => c.ClientProvidedName == "rig-client");
        Assert.DoesNotContain(perNode.Where(p => p.Key != declaringNode.NodeName).SelectMany(p => p.Value), c => c.ClientProvidedName == "rig-client");

        await using var channel = await connection.RentChannelAsync(cancellationToken: cts.Token);
        await channel.QueueDeleteAsync(queue, cancellationToken: cts.Token);
    }
}
