using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Tls;

/// <summary>Our TLS connection as <c>rabbitmqctl list_connections</c> shows it, found by its connection_name.</summary>
internal sealed record TlsBrokerConnection(string User, string AuthMechanism, bool Ssl, string SslProtocol)
{
    private static readonly TimeSpan FindTimeout = BrokerFixture.ListingTimeout;

    public static async Task<TlsBrokerConnection> FindAsync(BrokerFixture broker, string connectionName)
    {
        var deadline = DateTime.UtcNow + FindTimeout;
        while (true)
        {
            var output = await broker.CtlAsync("-q", "--no-table-headers", "list_connections",
                "user", "auth_mechanism", "ssl", "ssl_protocol", "client_properties");
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var f = line.Split('\t');
                if (f.Length >= 5 && f[4].Contains(connectionName, StringComparison.Ordinal))
                {
                    return new TlsBrokerConnection(f[0], f[1], f[2] == "true", f[3]);
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The broker did not list a connection named {connectionName} within {FindTimeout.TotalSeconds} s:\n{output}");
            }

            await Task.Delay(100);
        }
    }
}
