using System.Globalization;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Connection;

/// <summary>One of our connections as <c>rabbitmqctl list_connections</c> shows it, found by its connection_name.</summary>
internal sealed record BrokerConnectionInfo(string Pid, string ClientProperties, int Timeout, uint FrameMax, int ChannelMax, string AuthMechanism)
{
    private static readonly TimeSpan FindTimeout = BrokerFixture.ListingTimeout;

    /// <summary>A URI for the fixture's broker with the given query string (vhost "/").</summary>
    public static string Uri(BrokerFixture broker, string query) => broker.AmqpUri.TrimEnd('/') + "/?" + query;

    /// <summary>A name unique to this test run, to tell our connection apart from others.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>The connection whose client properties contain <paramref name="connectionName"/>, or null.</summary>
    public static async Task<BrokerConnectionInfo?> TryFindAsync(BrokerFixture broker, string connectionName)
    {
        var output = await broker.CtlAsync("-q", "--no-table-headers", "list_connections",
            "pid", "client_properties", "timeout", "frame_max", "channel_max", "auth_mechanism");
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split('\t');
            if (f.Length >= 6 && f[1].Contains(connectionName, StringComparison.Ordinal))
            {
                return new BrokerConnectionInfo(
                    f[0],
                    f[1],
                    int.Parse(f[2], CultureInfo.InvariantCulture),
                    uint.Parse(f[3], CultureInfo.InvariantCulture),
                    int.Parse(f[4], CultureInfo.InvariantCulture),
                    f[5]);
            }
        }

        return null;
    }

    /// <summary>Polls (bounded) until the broker lists the connection.</summary>
    public static async Task<BrokerConnectionInfo> FindAsync(BrokerFixture broker, string connectionName)
    {
        var deadline = DateTime.UtcNow + FindTimeout;
        while (true)
        {
            if (await TryFindAsync(broker, connectionName) is { } info)
            {
                return info;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The broker did not list a connection named {connectionName} within {FindTimeout.TotalSeconds} s.");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The row of <see cref="BrokerFixture.ListConnectionsAsync"/> for this connection.</summary>
    public async Task<BrokerConnection> ToBrokerConnectionAsync(BrokerFixture broker)
    {
        var all = await broker.ListConnectionsAsync();
        return all.Single(c => c.Pid == Pid);
    }
}
