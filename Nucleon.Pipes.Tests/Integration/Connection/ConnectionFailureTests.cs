using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Connection;

[Collection(BrokerCollection.Name)]
public sealed class ConnectionFailureTests(BrokerFixture broker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Wrong_credentials_fail_fast_with_an_authentication_error_that_hides_the_password()
    {
        using var cts = new CancellationTokenSource(Timeout);
        string password = "Pw-" + Guid.NewGuid().ToString("N");
        var options = AmqpConnectionOptions.Parse(broker.AmqpUri) with { Password = password };
        await using var conn = new AmqpConnection(options);

        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<AmqpAuthenticationException>(() => conn.ConnectAsync(cts.Token));
        sw.Stop();

        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"Authentication failure took {sw.Elapsed}.");
        Assert.Equal(AmqpReplyCode.AccessRefused, ex.ReplyCode);
        Assert.DoesNotContain(password, ex.ToString(), StringComparison.Ordinal);

        await Assert.ThrowsAnyAsync<Exception>(() => conn.Completion.WaitAsync(cts.Token));
        Assert.True(conn.Completion.IsFaulted);
        var cause = conn.Completion.Exception!.GetBaseException();
        Assert.IsType<AmqpAuthenticationException>(cause);
        Assert.DoesNotContain(password, cause.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(password, conn.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_vhost_is_a_permanent_530_error()
    {
        using var cts = new CancellationTokenSource(Timeout);
        string vhost = BrokerConnectionInfo.UniqueName("nucleon-no-such-vhost");
        var options = AmqpConnectionOptions.Parse(broker.AmqpUri) with { VirtualHost = vhost };
        await using var conn = new AmqpConnection(options);

        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<AmqpConnectionException>(() => conn.ConnectAsync(cts.Token));
        sw.Stop();

        Assert.Equal(AmqpReplyCode.NotAllowed, ex.ReplyCode);
        Assert.Contains(vhost, ex.ReplyText, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"An unknown vhost took {sw.Elapsed} to fail (it is permanent: no retries).");
        await Assert.ThrowsAnyAsync<Exception>(() => conn.Completion.WaitAsync(cts.Token));
        Assert.True(conn.Completion.IsFaulted);
    }

    [Fact]
    public async Task Refused_connection_gives_up_after_InitialConnectTimeout_without_showing_the_password()
    {
        using var cts = new CancellationTokenSource(Timeout);
        string password = "Pw-" + Guid.NewGuid().ToString("N");

        // A port that was just free: nothing listens there.
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
        }

        var options = new AmqpConnectionOptions
        {
            Endpoints = [new AmqpEndpoint("127.0.0.1", port)],
            Password = password,
            InitialConnectTimeout = TimeSpan.FromSeconds(2),
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(100),
        };
        int attempts = 0;
        await using var conn = new AmqpConnection(options);
        conn.OnError((_, _) =>
        {
            Interlocked.Increment(ref attempts);
            return ValueTask.CompletedTask;
        });

        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<AmqpConnectionLostException>(() => conn.ConnectAsync(cts.Token));
        sw.Stop();

        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        Assert.True(Volatile.Read(ref attempts) >= 2, $"Expected retries within the 2 s, saw {attempts} failed attempts.");
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, ex.ToString(), StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => conn.Completion.WaitAsync(cts.Token));
        Assert.True(conn.Completion.IsFaulted);
    }
}
