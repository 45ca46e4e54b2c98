using System.Net;
using System.Net.Sockets;

namespace Nucleon.Pipes.Tests.Unit.Connection;

/// <summary>ConnectAsync ended by the caller's token before any connection came up.</summary>
public sealed class ConnectCancellationTests
{
    [Fact]
    public async Task A_cancelled_connect_says_why_it_had_not_connected_and_reports_no_lost_connection()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port; // nothing listens there once it is stopped
        }

        var options = AmqpConnectionOptions.Parse($"amqp://guest:guest@127.0.0.1:{port}/") with
        {
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(100),
        };
        await using var conn = new AmqpConnection(options);
        int lost = 0;
        conn.ConnectionLost += (_, _) => Interlocked.Increment(ref lost);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => conn.ConnectAsync(cts.Token));

        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.NotNull(ex.InnerException); // the last attempt's error: nobody listens on that port
        Assert.Contains("last attempt failed", ex.Message, StringComparison.Ordinal);
        Assert.Contains(ex.InnerException!.Message, ex.Message, StringComparison.Ordinal);
        await conn.Completion.WaitAsync(TimeSpan.FromSeconds(30)); // closed for good, not faulted
        Assert.Equal(0, Volatile.Read(ref lost));
        Assert.False(conn.IsConnected);
    }
}
