using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Cluster;

/// <summary>Connection options, queue names and declarations shared by the cluster tests.</summary>
internal static class ClusterTestSupport
{
    private static readonly Dictionary<string, object?> QuorumArguments = new() { ["x-queue-type"] = "quorum" };

    /// <summary>
    /// Options listing every node with <paramref name="first"/> first, so the connection lands there and fails
    /// over to the others in turn; quick reconnect back-off as in the fault tests.
    /// </summary>
    public static AmqpConnectionOptions Options(ClusterFixture cluster, ClusterNode first, string name) => new()
    {
        Endpoints = cluster.EndpointsStartingAt(first),
        ClientProvidedName = name,
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
        ConnectionTimeout = TimeSpan.FromSeconds(10),
        InitialConnectTimeout = TimeSpan.FromSeconds(30),
    };

    public static string QueueName(string test) => $"nucleon.cluster.{test}.{Guid.NewGuid():N}";

    /// <summary>
    /// Declares durable quorum queue <paramref name="queue"/> (idempotent). A new quorum queue's leader is
    /// the node the declaring connection is on (RabbitMQ's default leader locator, client-local).
    /// </summary>
    public static async Task DeclareQuorumQueueAsync(AmqpConnection connection, string queue, CancellationToken cancellationToken)
    {
        await using var channel = await connection.RentChannelAsync(cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(queue, durable: true, arguments: QuorumArguments, cancellationToken: cancellationToken);
    }
}
