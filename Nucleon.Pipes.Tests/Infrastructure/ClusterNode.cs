namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>
/// One private node of a <see cref="ClusterFixture"/>: <see cref="BrokerFixture"/>'s private node (random
/// ports, own base dir under <c>NUCLEON_TEST_BROKER_ROOT</c>, node name <c>nucleon-PORT@localhost</c>,
/// stopped by node name and pid file on dispose) with the cluster's shared Erlang cookie, which nodes
/// must have in common to join each other.
/// </summary>
public sealed class ClusterNode : BrokerFixture
{
    private readonly string _cookie;

    /// <summary>A node that will use <paramref name="cookie"/> (letters only, as scripts/broker.sh makes them).</summary>
    public ClusterNode(string cookie)
        : base(privateNodeOnly: true)
    {
        ArgumentException.ThrowIfNullOrEmpty(cookie);
        _cookie = cookie;
    }

    /// <summary>The AMQP endpoint of this node on loopback.</summary>
    public AmqpEndpoint Endpoint => new("127.0.0.1", Port);

    /// <summary>True between a kill or stop and the next start (tracked by <see cref="ClusterFixture"/>).</summary>
    public bool IsDown { get; internal set; }

    /// <summary>
    /// Writes the shared cookie where scripts/broker.sh keeps it (DIR/home/.erlang.cookie, mode 400);
    /// the script creates a random one only when that file is missing.
    /// </summary>
    protected override Task<IReadOnlyList<string>> PrepareNodeAsync(int amqpPort)
    {
        var home = Path.Combine(BaseDirectory!, "home");
        Directory.CreateDirectory(home);
        var path = Path.Combine(home, ".erlang.cookie");
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The cluster rig runs rabbitmq-server through scripts/broker.sh (Linux).");
        }

        if (File.Exists(path))
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.WriteAllText(path, _cookie);
        File.SetUnixFileMode(path, UnixFileMode.UserRead);
        return Task.FromResult<IReadOnlyList<string>>([]);
    }

    public override string ToString() => $"{NodeName} (amqp {Port})";
}
