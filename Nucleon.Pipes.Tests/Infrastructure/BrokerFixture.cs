using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Testcontainers.RabbitMq;

namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>How the fixture obtained its broker.</summary>
public enum BrokerKind
{
    /// <summary>An existing broker named by <c>NUCLEON_TEST_AMQP_URI</c>; no node control.</summary>
    External,

    /// <summary>A Testcontainers.RabbitMq container; rabbitmqctl via exec, no kill/restart.</summary>
    Container,

    /// <summary>A private rabbitmq-server node started with scripts/broker.sh; full node control.</summary>
    PrivateNode,
}

/// <summary>One row of <c>rabbitmqctl list_connections</c>.</summary>
/// <remarks><see cref="Pid"/> (e.g. <c>&lt;nucleon-5682@localhost.1700000000.1234.0&gt;</c>) identifies it for <c>close_connection</c>.</remarks>
public sealed record BrokerConnection(string Pid, string Name, string PeerHost, int PeerPort, string User, string State);

/// <summary>
/// Provides a real RabbitMQ broker for integration tests, in this order:
/// (a) <c>NUCLEON_TEST_AMQP_URI</c> names an existing broker;
/// (b) a Docker engine answers: a Testcontainers.RabbitMq container;
/// (c) otherwise a private rabbitmq-server node (scripts/broker.sh) on its own ports and data dir.
/// A missing broker throws: it is a failure, never a skip.
/// </summary>
/// <remarks>
/// Environment: <c>NUCLEON_TEST_AMQP_URI</c> (use this broker), <c>NUCLEON_TEST_BROKER</c>
/// (<c>private</c> or <c>docker</c> forces a kind), <c>NUCLEON_TEST_BROKER_ROOT</c> (parent dir of the
/// private nodes' base dirs, default $TMPDIR/nucleon-test-brokers; CI stops leftovers found there),
/// <c>NUCLEON_TEST_KEEP_BROKER_DIR=1</c> (keep data and logs after the run).
/// Subclasses (e.g. <see cref="TlsBrokerFixture"/>) can demand a private node and add configuration,
/// plugins, ports and post-start setup through the protected hooks.
/// </remarks>
public class BrokerFixture : IAsyncLifetime
{
    public const string UriVariable = "NUCLEON_TEST_AMQP_URI";
    public const string KindVariable = "NUCLEON_TEST_BROKER";
    public const string RootVariable = "NUCLEON_TEST_BROKER_ROOT";
    public const string KeepDirVariable = "NUCLEON_TEST_KEEP_BROKER_DIR";

    private static readonly TimeSpan CtlTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The bound (not a target) for a whole test that calls rabbitmqctl: each call costs about 1 s of CPU,
    /// and several seconds of wall time when the tests load the machine's two cores.
    /// </summary>
    public static readonly TimeSpan CtlTestTimeout = TimeSpan.FromSeconds(120);

    /// <summary>How long a test polls <c>rabbitmqctl list_connections</c> for a connection to appear or go.</summary>
    public static readonly TimeSpan ListingTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    private readonly bool _privateNodeOnly;
    private RabbitMqContainer? _container;
    private string? _scriptPath;
    private IReadOnlyList<string> _nodeOptions = [];
    private string _notControllableReason = "the broker has not been started";

    /// <summary>A broker chosen as described on the class.</summary>
    public BrokerFixture()
        : this(privateNodeOnly: false)
    {
    }

    /// <summary>
    /// With <paramref name="privateNodeOnly"/>, always starts a private node of its own (ignoring
    /// <c>NUCLEON_TEST_AMQP_URI</c> and Docker), so tests can kill and restart it without
    /// disturbing other fixtures' brokers.
    /// </summary>
    protected BrokerFixture(bool privateNodeOnly) => _privateNodeOnly = privateNodeOnly;

    /// <summary>e.g. amqp://guest:guest@127.0.0.1:5682/</summary>
    public string AmqpUri { get; private set; } = "";

    public string Host { get; private set; } = "";

    public int Port { get; private set; }

    public BrokerKind Kind { get; private set; }

    /// <summary>True when the node can be killed, stopped and started (private node only).</summary>
    public bool CanControlNode => Kind == BrokerKind.PrivateNode;

    /// <summary>True when rabbitmqctl commands can be run (private node or container).</summary>
    public bool CanRunCtl => Kind is BrokerKind.PrivateNode or BrokerKind.Container;

    /// <summary>Erlang node name of the private node, else null.</summary>
    public string? NodeName { get; private set; }

    /// <summary>Base directory (data, logs, pid file, cookie) of the private node, else null.</summary>
    public string? BaseDirectory { get; private set; }

    public int DistributionPort { get; private set; }

    /// <summary>Output of the start-up, for diagnostics.</summary>
    public string StartupLog { get; private set; } = "";

    /// <summary>True when this fixture needs its own private node whatever the environment says (custom configuration).</summary>
    protected virtual bool RequiresPrivateNode => _privateNodeOnly;

    /// <summary>Further ports (besides AMQP and distribution) the node will listen on for the given AMQP port; they must be free too.</summary>
    protected virtual IEnumerable<int> AdditionalPorts(int amqpPort) => [];

    /// <summary>Called before each start attempt of a new private node; returns extra scripts/broker.sh options (e.g. --conf FILE, --plugins LIST).</summary>
    protected virtual Task<IReadOnlyList<string>> PrepareNodeAsync(int amqpPort) => Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>Called once the private node has started (e.g. to add users).</summary>
    protected virtual Task OnNodeStartedAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        if (RequiresPrivateNode)
        {
            await StartPrivateNodeAsync().ConfigureAwait(false);
            await OnNodeStartedAsync().ConfigureAwait(false);
            return;
        }

        var uri = Environment.GetEnvironmentVariable(UriVariable);
        var forced = Environment.GetEnvironmentVariable(KindVariable)?.Trim().ToUpperInvariant();
        if (!string.IsNullOrWhiteSpace(uri))
        {
            Kind = BrokerKind.External;
            SetUri(uri.Trim());
            _notControllableReason = $"the broker was given by {UriVariable}={AmqpUri}, so node control is unavailable";
            return;
        }

        if (forced == "DOCKER" || (forced != "PRIVATE" && await DockerAvailableAsync().ConfigureAwait(false)))
        {
            await StartContainerAsync().ConfigureAwait(false);
            return;
        }

        await StartPrivateNodeAsync().ConfigureAwait(false);
    }

    public virtual async Task DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync().ConfigureAwait(false);
            _container = null;
        }

        if (Kind == BrokerKind.PrivateNode && BaseDirectory is not null)
        {
            var stopped = false;
            try
            {
                await RunScriptAsync(StopTimeout + TimeSpan.FromSeconds(10), "stop").ConfigureAwait(false);
                stopped = true;
            }
            catch (ProcessFailedException)
            {
                try
                {
                    await RunScriptAsync(TimeSpan.FromSeconds(30), "kill").ConfigureAwait(false);
                    stopped = true;
                }
                catch (ProcessFailedException)
                {
                    // Leave it: CI's exit trap stops leftover nodes under the broker root.
                }
            }

            if (stopped && Environment.GetEnvironmentVariable(KeepDirVariable) != "1")
            {
                try
                {
                    Directory.Delete(BaseDirectory, recursive: true);
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
    }

    // ---- node control -------------------------------------------------------------------

    /// <summary>Runs <c>rabbitmqctl -n NODE args...</c>; returns stdout; throws with the output on failure.</summary>
    public async Task<string> CtlAsync(params string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        switch (Kind)
        {
            case BrokerKind.PrivateNode:
                {
                    var result = await RunScriptAsync(CtlTimeout, ["ctl", .. args]).ConfigureAwait(false);
                    return result.StandardOutput;
                }

            case BrokerKind.Container when _container is not null:
                {
                    using var cts = new CancellationTokenSource(CtlTimeout);
                    var r = await _container.ExecAsync(["rabbitmqctl", .. args], cts.Token).ConfigureAwait(false);
                    if (r.ExitCode != 0)
                    {
                        throw new ProcessFailedException(
                            $"rabbitmqctl {string.Join(' ', args)} exited {r.ExitCode} in the container:\n{r.Stdout}\n[stderr]\n{r.Stderr}");
                    }

                    return r.Stdout.TrimEnd();
                }

            default:
                throw NotControllable("rabbitmqctl " + string.Join(' ', args));
        }
    }

    /// <summary>Force-closes every client connection (<c>rabbitmqctl close_all_connections</c>).</summary>
    public Task CloseAllConnectionsAsync(string reason) => CtlAsync("close_all_connections", reason);

    /// <summary>Force-closes one connection (<c>rabbitmqctl close_connection PID reason</c>); see <see cref="ListConnectionsAsync"/>.</summary>
    public Task CloseConnectionAsync(BrokerConnection connection, string reason)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return CtlAsync("close_connection", connection.Pid, reason);
    }

    /// <summary>Lists client connections (<c>rabbitmqctl list_connections</c>).</summary>
    public async Task<IReadOnlyList<BrokerConnection>> ListConnectionsAsync()
    {
        var output = await CtlAsync("-q", "--no-table-headers", "list_connections", "pid", "name", "peer_host", "peer_port", "user", "state")
            .ConfigureAwait(false);
        var list = new List<BrokerConnection>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split('\t');
            if (f.Length < 6)
            {
                continue;
            }

            _ = int.TryParse(f[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var peerPort);
            list.Add(new BrokerConnection(f[0], f[1], f[2], peerPort, f[4], f[5]));
        }

        return list;
    }

    /// <summary>SIGKILLs the node's beam process (a crash, no clean shutdown).</summary>
    public async Task KillNodeAsync()
    {
        RequireNodeControl("kill the node");
        await RunScriptAsync(TimeSpan.FromSeconds(30), "kill").ConfigureAwait(false);
    }

    /// <summary>Starts the node again on the same ports and data dir and awaits its startup.</summary>
    public async Task StartNodeAsync()
    {
        RequireNodeControl("start the node");
        await RunScriptAsync(StartTimeout, "start").ConfigureAwait(false);
    }

    /// <summary>Stops the node cleanly (<c>rabbitmqctl stop</c>).</summary>
    public async Task StopNodeAsync()
    {
        RequireNodeControl("stop the node");
        await RunScriptAsync(StopTimeout + TimeSpan.FromSeconds(10), "stop").ConfigureAwait(false);
    }

    /// <summary>Sets the memory high watermark (fraction of RAM); a tiny value raises the memory alarm and blocks publishers.</summary>
    public Task SetVmMemoryHighWatermarkAsync(double fraction) =>
        CtlAsync("set_vm_memory_high_watermark", fraction.ToString("0.0###########", CultureInfo.InvariantCulture));

    // ---- setup ----------------------------------------------------------------------------

    private void SetUri(string uri)
    {
        var parsed = new Uri(uri);
        if (parsed.Scheme is not ("amqp" or "amqps"))
        {
            throw new InvalidOperationException($"Broker URI must use amqp:// or amqps://: {uri}");
        }

        AmqpUri = uri;
        Host = parsed.Host;
        Port = parsed.Port > 0 ? parsed.Port : parsed.Scheme == "amqps" ? 5671 : 5672;
    }

    private static async Task<bool> DockerAvailableAsync()
    {
        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrEmpty(dockerHost) && !File.Exists("/var/run/docker.sock"))
        {
            return false;
        }

        try
        {
            var r = await ProcessRunner.RunAsync("docker", ["info", "--format", "{{.ServerVersion}}"], TimeSpan.FromSeconds(3))
                .ConfigureAwait(false);
            return r.ExitCode == 0;
        }
        catch (ProcessFailedException)
        {
            return false;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no docker CLI
        }
    }

    private async Task StartContainerAsync()
    {
        var container = new RabbitMqBuilder("rabbitmq:3.13")
            .WithUsername("guest")
            .WithPassword("guest")
            .Build();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await container.StartAsync(cts.Token).ConfigureAwait(false);
        _container = container;
        Kind = BrokerKind.Container;
        var port = container.GetMappedPublicPort(5672);
        var host = container.Hostname;
        if (host == "localhost")
        {
            host = "127.0.0.1";
        }

        SetUri($"amqp://guest:guest@{host}:{port.ToString(CultureInfo.InvariantCulture)}/");
        _notControllableReason = "the broker runs in a Testcontainers container; killing, stopping and restarting the node is not supported there";
    }

    private async Task StartPrivateNodeAsync()
    {
        _scriptPath = Path.Combine(FindRepositoryRoot(), "scripts", "broker.sh");
        if (!File.Exists(_scriptPath))
        {
            throw new InvalidOperationException($"No broker available: {_scriptPath} not found");
        }

        var root = Environment.GetEnvironmentVariable(RootVariable);
        if (string.IsNullOrWhiteSpace(root))
        {
            root = Path.Combine(Path.GetTempPath(), "nucleon-test-brokers");
        }

        Directory.CreateDirectory(root);
        Kind = BrokerKind.PrivateNode;
        var failures = new List<string>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var port = PickPorts(AdditionalPorts);
            Port = port;
            DistributionPort = port + 20000;
            NodeName = $"nucleon-{port.ToString(CultureInfo.InvariantCulture)}@localhost";
            BaseDirectory = Path.Combine(root, $"{port.ToString(CultureInfo.InvariantCulture)}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}");
            try
            {
                _nodeOptions = await PrepareNodeAsync(port).ConfigureAwait(false);
                var result = await RunScriptAsync(StartTimeout, "start").ConfigureAwait(false);
                StartupLog = result.CombinedOutput;
                SetUri(result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1]);
                // broker.sh waits for the AMQP port; the other listeners (amqps) must be up too, or every test on them fails.
                foreach (var extra in AdditionalPorts(port))
                {
                    if (!await AcceptsConnectionsAsync(extra, ListenerTimeout).ConfigureAwait(false))
                    {
                        throw new ProcessFailedException(
                            $"the node started but nothing listens on port {extra.ToString(CultureInfo.InvariantCulture)} after {ListenerTimeout.TotalSeconds:0} s; its log ends:\n{NodeLogTail()}");
                    }
                }

                return;
            }
            catch (ProcessFailedException ex)
            {
                failures.Add($"attempt {attempt} (port {port}): {ex.Message}");
                try
                {
                    await RunScriptAsync(TimeSpan.FromSeconds(30), "stop").ConfigureAwait(false);
                }
                catch (ProcessFailedException)
                {
                }
            }
        }

        Kind = BrokerKind.External;
        _notControllableReason = "no broker could be started";
        throw new InvalidOperationException(
            "No RabbitMQ broker available for integration tests (set " + UriVariable + ", run a Docker engine, or install " +
            "rabbitmq-server with scripts/install-broker.sh):\n" + string.Join("\n", failures));
    }

    private static readonly TimeSpan ListenerTimeout = TimeSpan.FromSeconds(30);

    private static async Task<bool> AcceptsConnectionsAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.ConnectAsync(IPAddress.Loopback, port, attempt.Token).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                if (DateTime.UtcNow >= deadline)
                {
                    return false;
                }
            }

            await Task.Delay(200).ConfigureAwait(false);
        }
    }

    // The last lines of the private node's own log, to say why a listener is missing.
    private string NodeLogTail()
    {
        try
        {
            var logs = Directory.Exists(Path.Combine(BaseDirectory ?? "", "log"))
                ? Directory.GetFiles(Path.Combine(BaseDirectory!, "log"), "*.log")
                : [];
            return logs.Length == 0
                ? "(no log file)"
                : string.Join("\n", logs.SelectMany(f => File.ReadLines(f).TakeLast(30).Select(l => Path.GetFileName(f) + ": " + l)));
        }
        catch (IOException ex)
        {
            return $"(log unreadable: {ex.Message})";
        }
    }

    /// <summary>Picks an AMQP port in 5682..6681 whose distribution port (+20000) and additional ports are free too.</summary>
    private static int PickPorts(Func<int, IEnumerable<int>> additionalPorts)
    {
        for (var i = 0; i < 200; i++)
        {
            var port = 5682 + Random.Shared.Next(1000);
            if (PortFree(port) && PortFree(port + 20000) && additionalPorts(port).All(PortFree))
            {
                return port;
            }
        }

        throw new InvalidOperationException("No free port pair found in 5682..6681 / 25682..26681");
    }

    private static bool PortFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Any, port);
            listener.Server.ExclusiveAddressUse = false;
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private Task<ProcessResult> RunScriptAsync(TimeSpan timeout, params string[] command)
    {
        var args = new List<string>
        {
            _scriptPath!,
            "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--dist-port", DistributionPort.ToString(CultureInfo.InvariantCulture),
            "--node", NodeName!,
            "--dir", BaseDirectory!,
        };
        args.AddRange(_nodeOptions);
        args.AddRange(command);
        return ProcessRunner.RunCheckedAsync("bash", args, timeout);
    }

    private void RequireNodeControl(string what)
    {
        if (!CanControlNode)
        {
            throw NotControllable(what);
        }
    }

    private NotSupportedException NotControllable(string what) =>
        new($"Cannot {what}: {_notControllableReason}. Node-control tests need the private node (unset {UriVariable}).");

    /// <summary>Walks up from the test binaries to the folder holding Nucleon.sln.</summary>
    public static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Nucleon.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Nucleon.sln not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>Integration test classes share one broker: <c>[Collection("broker")]</c>.</summary>
[CollectionDefinition("broker")]
public sealed class BrokerCollection : ICollectionFixture<BrokerFixture>
{
    public const string Name = "broker";
}
