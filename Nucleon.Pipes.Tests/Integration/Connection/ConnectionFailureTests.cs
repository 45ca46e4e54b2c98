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
    public async Task Unknown_vhost_is_retried_until_InitialConnectTimeout_and_the_530_is_the_cause()
    {
        using var cts = new CancellationTokenSource(Timeout);
        string vhost = BrokerConnectionInfo.UniqueName("nucleon-no-such-vhost");
        var options = AmqpConnectionOptions.Parse(broker.AmqpUri) with
        {
            VirtualHost = vhost,
            InitialConnectTimeout = TimeSpan.FromSeconds(3),
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        };
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });

        // 530 is not a definitive answer (the vhost may be on its way, or a node still starting it): retried.
        var ex = await Assert.ThrowsAsync<AmqpConnectionLostException>(() => conn.ConnectAsync(cts.Token));

        var cause = Assert.IsType<AmqpConnectionException>(ex.InnerException);
        Assert.Equal(AmqpReplyCode.NotAllowed, cause.ReplyCode);
        Assert.Contains(vhost, cause.ReplyText, StringComparison.Ordinal);
        var attempts = log.AttemptFailures;
        Assert.True(attempts.Count(r => r is AmqpConnectionException { ReplyCode: AmqpReplyCode.NotAllowed }) >= 2, $"Expected retries, saw {attempts.Count} failed attempts.");
        await Assert.ThrowsAnyAsync<Exception>(() => conn.Completion.WaitAsync(cts.Token));
        Assert.True(conn.Completion.IsFaulted);
    }

    [Fact]
    public async Task Access_refused_by_one_node_still_tries_the_next_endpoint()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        var brokerEndpoint = AmqpConnectionOptions.Parse(broker.AmqpUri).Endpoints[0];
        var options = AmqpConnectionOptions.Parse(broker.AmqpUri) with
        {
            Password = "Pw-" + Guid.NewGuid().ToString("N"),
            Endpoints = [brokerEndpoint, new AmqpEndpoint("127.0.0.1", server.Port)],
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        };
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });
        var reports = RecordErrors(conn);

        var connect = conn.ConnectAsync(ct);
        await server.AcceptAndHandshakeAsync();
        await connect.WaitAsync(ct);

        Assert.IsType<AmqpAuthenticationException>(Assert.Single(log.AttemptFailures));
        Assert.Empty(reports); // a refused attempt is the log's business, not OnError's
        Assert.Equal(1, conn.Generation);
        Assert.Equal(server.Port, conn.CurrentEndpoint!.Port);
        var closing = conn.CloseAsync(ct);
        await server.ReadConnectionCloseAsync();
        await server.SendMethodAsync(0, new Protocol.ConnectionCloseOk());
        await closing.WaitAsync(ct);
    }

    [Fact]
    public async Task Access_refused_gives_up_only_after_every_endpoint_was_tried()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var brokerEndpoint = AmqpConnectionOptions.Parse(broker.AmqpUri).Endpoints[0];
        var options = AmqpConnectionOptions.Parse(broker.AmqpUri) with
        {
            Password = "Pw-" + Guid.NewGuid().ToString("N"),
            Endpoints = [brokerEndpoint, new AmqpEndpoint("127.0.0.1", FreePort())],
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        };
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });
        var reports = RecordErrors(conn);

        var ex = await Assert.ThrowsAsync<AmqpAuthenticationException>(() => conn.ConnectAsync(cts.Token));

        Assert.Equal(AmqpReplyCode.AccessRefused, ex.ReplyCode);
        var attempts = log.AttemptFailures;
        Assert.Equal(2, attempts.Count);
        Assert.IsType<AmqpAuthenticationException>(attempts[0]);
        Assert.IsNotType<AmqpAuthenticationException>(attempts[1]);
        // OnError hears the failure that ends the connection, once.
        Assert.Same(ex, Assert.Single(reports));
        Assert.Same(ex, Assert.Single(log.Events(LogEvents.PermanentFailure)).Exception);
        Assert.True(conn.Completion.IsFaulted);
    }

    private static System.Collections.Concurrent.ConcurrentQueue<Exception> RecordErrors(AmqpConnection conn)
    {
        var reports = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        conn.OnError((_, e) =>
        {
            reports.Enqueue(e);
            return ValueTask.CompletedTask;
        });
        return reports;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });

        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<AmqpConnectionLostException>(() => conn.ConnectAsync(cts.Token));
        sw.Stop();

        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        int attempts = log.AttemptFailures.Count;
        Assert.True(attempts >= 2, $"Expected retries within the 2 s, saw {attempts} failed attempts.");
        Assert.All(log.Entries, e => Assert.DoesNotContain(password, e.Message, StringComparison.Ordinal));
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, ex.ToString(), StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => conn.Completion.WaitAsync(cts.Token));
        Assert.True(conn.Completion.IsFaulted);
    }
}
