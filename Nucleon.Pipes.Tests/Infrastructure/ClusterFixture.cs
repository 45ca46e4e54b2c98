using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>
/// A 3-node RabbitMQ cluster of private nodes on loopback (<see cref="ClusterNode"/>: each a
/// <see cref="BrokerFixture"/> private node with its own random ports, data dir and node name, sharing one
/// Erlang cookie). Nodes 2 and 3 join node 1 with <c>stop_app</c> / <c>join_cluster</c> / <c>start_app</c>.
/// Tests kill, stop and restart single nodes, find a quorum queue's leader and see which node holds
/// which connection. Disposing stops every node by node name (pid file as fallback) and deletes its dir;
/// scripts/stop-brokers.sh stops leftovers under <c>NUCLEON_TEST_BROKER_ROOT</c>.
/// </summary>
/// <remarks>A cluster is always private nodes: <c>NUCLEON_TEST_AMQP_URI</c> and Docker are ignored.</remarks>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>Number of nodes.</summary>
    public const int Size = 3;

    private static readonly TimeSpan FormTimeout = TimeSpan.FromSeconds(120);
    private readonly ClusterNode[] _nodes;

    public ClusterFixture()
    {
        var cookie = string.Concat(Enumerable.Range(0, 20).Select(_ => (char)('A' + Random.Shared.Next(26))));
        _nodes = [.. Enumerable.Range(0, Size).Select(_ => new ClusterNode(cookie))];
    }

    /// <summary>The nodes; <c>Nodes[0]</c> is the one the others joined.</summary>
    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    /// <summary>How long forming the cluster took (start of the nodes to all three running together).</summary>
    public TimeSpan FormingTime { get; private set; }

    public async Task InitializeAsync()
    {
        var sw = Stopwatch.StartNew();
        try
        {
            // Started side by side: on two cores this still saves about a third of the time.
            await Task.WhenAll(_nodes.Select(n => n.InitializeAsync())).ConfigureAwait(false);
            foreach (var node in _nodes.Skip(1))
            {
                await JoinAsync(node, reset: false).ConfigureAwait(false);
            }

            var (formed, status) = await TryWaitForRunningNodesAsync(Size, FormTimeout).ConfigureAwait(false);
            if (!formed)
            {
                // Seen once on a slow machine: every join_cluster succeeded, yet after 120 s two nodes ran as a
                // cluster. A node left out is reset and joined once more before the fixture gives up.
                using var doc = JsonDocument.Parse(status);
                var running = Names(doc.RootElement, "running_nodes");
                foreach (var node in _nodes.Skip(1).Where(n => !running.Contains(n.NodeName)))
                {
                    await JoinAsync(node, reset: true).ConfigureAwait(false);
                }

                await WaitForRunningNodesAsync(Size, FormTimeout).ConfigureAwait(false);
            }

            FormingTime = sw.Elapsed;
        }
        catch
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task DisposeAsync() =>
        await Task.WhenAll(_nodes.Select(n => n.DisposeAsync())).ConfigureAwait(false);

    /// <summary>The node whose AMQP listener is <paramref name="endpoint"/>.</summary>
    public ClusterNode NodeAt(AmqpEndpoint endpoint) =>
        _nodes.Single(n => n.Port == endpoint.Port);

    /// <summary>The node named <paramref name="nodeName"/> (e.g. a quorum leader).</summary>
    public ClusterNode NodeNamed(string nodeName) =>
        _nodes.Single(n => n.NodeName == nodeName);

    /// <summary>Every node's endpoint, <paramref name="first"/>'s first, then the others in order: a client connects to <paramref name="first"/> and fails over to the rest.</summary>
    public IReadOnlyList<AmqpEndpoint> EndpointsStartingAt(ClusterNode first) =>
        [first.Endpoint, .. _nodes.Where(n => n != first).Select(n => n.Endpoint)];

    // ---- node control ---------------------------------------------------------------------

    /// <summary>SIGKILLs <paramref name="node"/>'s beam process: a crash, its peers see the distribution link drop.</summary>
    public async Task KillAsync(ClusterNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        node.IsDown = true;
        await node.KillNodeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops <paramref name="node"/> cleanly (<c>rabbitmqctl stop</c>).</summary>
    public async Task StopAsync(ClusterNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        node.IsDown = true;
        await node.StopNodeAsync().ConfigureAwait(false);
    }

    /// <summary>Starts <paramref name="node"/> again on its ports and data dir; it rejoins the cluster it belongs to.</summary>
    public async Task StartAsync(ClusterNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        await node.StartNodeAsync().ConfigureAwait(false);
        node.IsDown = false;
    }

    /// <summary>Starts every node that a test left down, then waits until all run as one cluster.</summary>
    public async Task EnsureAllRunningAsync()
    {
        var down = _nodes.Where(n => n.IsDown).ToList();
        if (down.Count == 0)
        {
            return;
        }

        await Task.WhenAll(down.Select(StartAsync)).ConfigureAwait(false);
        await WaitForRunningNodesAsync(Size, FormTimeout).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes <paramref name="node"/> write its DETS tables to disk now. RabbitMQ 3.10 records a new quorum
    /// queue's Raft member in a DETS table synced only every few minutes; a node SIGKILLed before that forgets
    /// its member and, once restarted, no longer serves that queue. Call it before killing a node.
    /// </summary>
    public Task SyncQuorumRegistryAsync(ClusterNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.CtlAsync("eval", "[dets:sync(T) || T <- dets:all()].");
    }

    // ---- queries --------------------------------------------------------------------------

    /// <summary>Runs rabbitmqctl against the first node that is up.</summary>
    public Task<string> CtlAsync(params string[] args) =>
        (_nodes.FirstOrDefault(n => !n.IsDown) ?? throw new InvalidOperationException("every node of the cluster is down"))
            .CtlAsync(args);

    /// <summary>Leader, members and online members of <paramref name="queue"/> (vhost /); null when the cluster does not list it.</summary>
    public async Task<QuorumQueueStatus?> QueueStatusAsync(string queue)
    {
        var json = await CtlAsync("-q", "list_queues", "--formatter", "json", "name", "type", "leader", "members", "online").ConfigureAwait(false);
        using var doc = JsonDocument.Parse(json);
        foreach (var row in doc.RootElement.EnumerateArray())
        {
            if (Text(row, "name") == queue)
            {
                return new QuorumQueueStatus(queue, Text(row, "type"), Text(row, "leader"), Names(row, "members"), Names(row, "online"));
            }
        }

        return null;
    }

    /// <summary>The node name of <paramref name="queue"/>'s leader; polls (each poll is a rabbitmqctl call) until one is known that is not down.</summary>
    public async Task<ClusterNode> WaitForLeaderAsync(string queue, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        QuorumQueueStatus? last = null;
        while (sw.Elapsed < timeout)
        {
            last = await QueueStatusAsync(queue).ConfigureAwait(false);
            var leader = _nodes.FirstOrDefault(n => n.NodeName == last?.Leader && !n.IsDown);
            if (leader is not null)
            {
                return leader;
            }

            await Task.Delay(500).ConfigureAwait(false);
        }

        throw new TimeoutException($"No live leader of {queue} within {timeout.TotalSeconds:0} s; last status: {last?.ToString() ?? "not listed"}");
    }

    /// <summary>Client connections of the whole cluster, each with the node holding it (<c>list_connections</c> on a live node).</summary>
    public async Task<IReadOnlyList<ClusterConnection>> ListConnectionsAsync()
    {
        var json = await CtlAsync("-q", "list_connections", "--formatter", "json", "pid", "port", "client_properties").ConfigureAwait(false);
        using var doc = JsonDocument.Parse(json);
        var list = new List<ClusterConnection>();
        foreach (var row in doc.RootElement.EnumerateArray())
        {
            var port = row.GetProperty("port").GetInt32();
            var node = _nodes.FirstOrDefault(n => n.Port == port)?.NodeName ?? $"unknown node (port {port.ToString(CultureInfo.InvariantCulture)})";
            list.Add(new ClusterConnection(node, Text(row, "pid"), ConnectionName(row.GetProperty("client_properties"))));
        }

        return list;
    }

    /// <summary>The cluster's connections grouped by the node holding them (every node present, possibly with none).</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<ClusterConnection>>> ConnectionsPerNodeAsync()
    {
        var all = await ListConnectionsAsync().ConfigureAwait(false);
        return _nodes.ToDictionary(
            n => n.NodeName!,
            n => (IReadOnlyList<ClusterConnection>)[.. all.Where(c => c.Node == n.NodeName)]);
    }

    private async Task JoinAsync(ClusterNode node, bool reset)
    {
        await node.CtlAsync("stop_app").ConfigureAwait(false);
        if (reset)
        {
            await node.CtlAsync("reset").ConfigureAwait(false);
        }

        await node.CtlAsync("join_cluster", _nodes[0].NodeName!).ConfigureAwait(false);
        await node.CtlAsync("start_app").ConfigureAwait(false);
    }

    private async Task WaitForRunningNodesAsync(int count, TimeSpan timeout)
    {
        var (formed, last) = await TryWaitForRunningNodesAsync(count, timeout).ConfigureAwait(false);
        if (!formed)
        {
            throw new TimeoutException($"The cluster did not have {count} running nodes within {timeout.TotalSeconds:0} s: {last}");
        }
    }

    // Polls cluster_status (a status, not an event: there is nothing to await) until count nodes run; returns the last status.
    private async Task<(bool Formed, string Status)> TryWaitForRunningNodesAsync(int count, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        var last = "";
        while (sw.Elapsed < timeout)
        {
            last = await CtlAsync("-q", "cluster_status", "--formatter", "json").ConfigureAwait(false);
            using var doc = JsonDocument.Parse(last);
            if (doc.RootElement.TryGetProperty("running_nodes", out var running) && running.GetArrayLength() == count)
            {
                return (true, last);
            }

            await Task.Delay(1000).ConfigureAwait(false);
        }

        return (false, last);
    }

    private static string Text(JsonElement row, string property) =>
        row.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    private static string[] Names(JsonElement row, string property) =>
        row.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
            : [];

    /// <summary>
    /// The <c>connection_name</c> client property; rabbitmqctl's JSON shows a field table as an array of
    /// <c>[name, type, value]</c> triples or as an object, depending on the version.
    /// </summary>
    private static string ConnectionName(JsonElement properties)
    {
        if (properties.ValueKind == JsonValueKind.Object)
        {
            return Text(properties, "connection_name");
        }

        if (properties.ValueKind == JsonValueKind.Array)
        {
            foreach (var field in properties.EnumerateArray())
            {
                if (field.ValueKind == JsonValueKind.Array && field.GetArrayLength() == 3 && field[0].ValueKind == JsonValueKind.String
                    && field[0].GetString() == "connection_name" && field[2].ValueKind == JsonValueKind.String)
                {
                    return field[2].GetString()!;
                }
            }
        }

        return "";
    }
}
