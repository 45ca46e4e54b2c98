using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nucleon.Pipes.Hosting;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Hosting;

/// <summary>AddAmqpConnection against the real broker: configuration, named connections, start-up, publisher, health.</summary>
[Collection(BrokerCollection.Name)]
public sealed class HostedConnectionTests(BrokerFixture broker) : HostingTestBase(broker)
{
    private static readonly TimeSpan WaitBound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Default_connection_from_ConnectionStrings_starts_connected_with_its_hooks_run_and_closes_with_the_host()
    {
        var q = NewQueue("hook");
        await using var host = BuildHost(b => b.Services.AddAmqpConnection()
            .OnConnect(async (sp, c, ct) =>
            {
                await using var ch = await c.RentChannelAsync(cancellationToken: ct);
                await ch.QueueDeclareAsync(q, cancellationToken: ct);
            }));
        await host.StartAsync(Ct);

        var conn = host.Services.GetRequiredService<AmqpConnection>();
        Assert.Same(conn, host.Services.GetRequiredKeyedService<AmqpConnection>(AmqpHosting.DefaultConnectionName));
        Assert.True(conn.IsConnected); // start-up waited for the connection and its hooks
        Assert.Equal(0u, await ReadyCountAsync(q)); // the hook declared it (a passive declare of a missing queue throws 404)
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);

        await host.StopAsync(TimeSpan.FromSeconds(30));
        Assert.True(conn.Completion.IsCompletedSuccessfully);
        var closed = await CheckAsync(host);
        Assert.Equal(HealthStatus.Unhealthy, closed.Status);
        Assert.Equal("Closed", closed.Data["state"]);
    }

    [Fact]
    public async Task The_connection_logs_to_the_hosts_logging()
    {
        using var log = new RecordingLoggerProvider();
        await using var host = BuildHost(b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Trace).AddProvider(log);
            b.Services.AddAmqpConnection();
        });
        await host.StartAsync(Ct);
        await host.StopAsync(TimeSpan.FromSeconds(30));

        var connected = Assert.Single(log.Events(LogEvents.Connected));
        Assert.Equal("Nucleon.Pipes.Connection", connected.Category);
        Assert.Equal(1, connected["Generation"]);
        Assert.Single(log.Events(LogEvents.Closed));
    }

    [Fact]
    public async Task The_connection_measures_on_the_hosts_meter_factory()
    {
        await using var host = BuildHost(b => b.Services.AddAmqpConnection());
        await host.StartAsync(Ct);

        var conn = host.Services.GetRequiredService<AmqpConnection>();
        Assert.Same(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), conn.Options.MeterFactory);
        await host.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Two_named_connections_one_from_ConnectionStrings_one_from_a_bound_section_each_with_its_publisher()
    {
        var q = await DeclareQueueAsync(what: "named");
        var config = new Dictionary<string, string?>
        {
            ["ConnectionStrings:orders"] = Broker.AmqpUri,
            ["Amqp:Billing:ConnectionString"] = Broker.AmqpUri,
            ["Amqp:Billing:ClientProvidedName"] = "billing-svc",
            ["Amqp:Billing:StartupTimeout"] = "00:00:45",
        };
        await using var host = BuildHost(b =>
        {
            b.Services.AddAmqpConnection("orders");
            b.Services.AddAmqpConnection("billing").BindConfiguration("Amqp:Billing");
        }, config);
        await host.StartAsync(Ct);

        var orders = host.Services.GetRequiredKeyedService<AmqpConnection>("orders");
        var billing = host.Services.GetRequiredKeyedService<AmqpConnection>("billing");
        Assert.NotSame(orders, billing);
        Assert.True(orders.IsConnected && billing.IsConnected);
        Assert.Equal("billing-svc", billing.Options.ClientProvidedName);
        Assert.Equal(TimeSpan.FromSeconds(45), host.Services.GetRequiredService<IOptionsMonitor<AmqpConnectionSettings>>().Get("billing").StartupTimeout);
        Assert.Null(host.Services.GetService<AmqpConnection>()); // no default connection was registered

        await host.Services.GetRequiredKeyedService<IAmqpPublisher>("orders").PublishAsync("", q, Utf8("via orders"), cancellationToken: Ct);
        await host.Services.GetRequiredKeyedService<IAmqpPublisher>("billing").PublishAsync("", q, Utf8("via billing"), cancellationToken: Ct);
        Assert.Equal(2u, await ReadyCountAsync(q)); // confirmed: in the queue when PublishAsync returned
    }

    [Fact]
    public async Task A_bound_section_gives_the_endpoints_and_credentials_without_a_URI()
    {
        var broker = AmqpConnectionOptions.Parse(Broker.AmqpUri);
        var endpoint = broker.Endpoints[0];
        var config = new Dictionary<string, string?>
        {
            ["Amqp:Orders:Endpoints:0:Host"] = endpoint.Host,
            ["Amqp:Orders:Endpoints:0:Port"] = endpoint.Port.ToString(CultureInfo.InvariantCulture),
            ["Amqp:Orders:UserName"] = broker.UserName,
            ["Amqp:Orders:Password"] = broker.Password,
            ["Amqp:Orders:VirtualHost"] = broker.VirtualHost,
        };
        await using var host = BuildHost(b => b.Services.AddAmqpConnection("orders").BindConfiguration("Amqp:Orders"), config);
        await host.StartAsync(Ct);

        var conn = host.Services.GetRequiredKeyedService<AmqpConnection>("orders");
        Assert.True(conn.IsConnected);
        Assert.Equal([endpoint], conn.Options.Endpoints); // instead of the default localhost:5672, not beside it
        Assert.Equal(endpoint, conn.CurrentEndpoint);
    }

    [Fact]
    public async Task A_password_from_the_section_replaces_the_one_in_the_URI()
    {
        var broker = AmqpConnectionOptions.Parse(Broker.AmqpUri);
        var endpoint = broker.Endpoints[0];
        var config = new Dictionary<string, string?>
        {
            ["ConnectionStrings:amqp"] = $"amqp://{broker.UserName}:not-the-password@{endpoint.Host}:{endpoint.Port}/",
            ["Amqp:Password"] = broker.Password,
        };
        await using var host = BuildHost(b => b.Services.AddAmqpConnection().BindConfiguration("Amqp"), config);
        await host.StartAsync(Ct); // with the URI's password the broker refuses the login and the start fails

        Assert.True(host.Services.GetRequiredService<AmqpConnection>().IsConnected);
    }

    [Fact]
    public async Task Publisher_reports_an_unroutable_mandatory_message()
    {
        await using var host = BuildHost(b => b.Services.AddAmqpConnection());
        await host.StartAsync(Ct);
        var publisher = host.Services.GetRequiredService<IAmqpPublisher>();
        await Assert.ThrowsAsync<AmqpMessageReturnedException>(() =>
            publisher.PublishAsync("", NewQueue("missing"), Utf8("nobody"), mandatory: true, cancellationToken: Ct));
    }

    [Fact]
    public async Task Missing_connection_string_fails_the_start_with_the_connection_name()
    {
        await using var host = BuildHost(b => b.Services.AddAmqpConnection("nowhere"));
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));
        Assert.Contains("ConnectionStrings:nowhere", error.Message);
        Assert.Contains("Endpoints", error.Message);
    }

    [Fact]
    public async Task Malformed_uri_fails_the_start_without_showing_the_password()
    {
        await using var host = BuildHost(b => b.Services.AddAmqpConnection(configure: s => s.ConnectionString = "amqp://user:s3cret@host:notaport/"));
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));
        Assert.DoesNotContain("s3cret", error.Message);
    }

    [Fact]
    public async Task Start_up_wait_is_bounded_and_the_failure_shows_in_the_health_check()
    {
        int port = FreePort();
        await using var host = BuildHost(b => b.Services.AddAmqpConnection(configure: s =>
        {
            s.ConnectionString = $"amqp://guest:guest@127.0.0.1:{port}/";
            s.StartupTimeout = TimeSpan.FromSeconds(2);
        }));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync(Ct));
        Assert.Contains("'amqp' did not start", error.Message);

        var health = await CheckAsync(host);
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        Assert.Equal("Failed", health.Data["state"]);
        Assert.True(health.Data.ContainsKey("lastError"));
    }

    [Fact]
    public async Task Without_the_start_up_wait_the_host_starts_at_once_and_reports_degraded_until_connected()
    {
        int port = FreePort();
        await using var host = BuildHost(b => b.Services.AddAmqpConnection(configure: s =>
        {
            s.ConnectionString = $"amqp://guest:guest@127.0.0.1:{port}/";
            s.WaitForConnectionAtStartup = false;
        }));
        await host.StartAsync(Ct); // nobody listens there: the start does not wait

        var health = await CheckAsync(host);
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Equal("Starting", health.Data["state"]);
        // The refused attempts are logged, not reported to OnError; the health check still shows the last one.
        var refused = await WaitForStatusAsync(host, HealthStatus.Degraded, r => r.Data.ContainsKey("lastError"));
        Assert.Equal("Starting", refused.Data["state"]);
        Assert.Contains("refused", (string)refused.Data["lastError"], StringComparison.Ordinal);
        await host.StopAsync(TimeSpan.FromSeconds(30)); // stops the background attempts
    }

    [Fact]
    public async Task Reconnecting_is_degraded_then_healthy_again()
    {
        var target = new Uri(Broker.AmqpUri);
        await using var proxy = new TcpFaultProxy(target.Host, target.Port);
        await proxy.StartAsync();
        await using var host = BuildHost(b => b.Services.AddAmqpConnection(configure: s =>
        {
            s.ConnectionString = $"amqp://guest:guest@127.0.0.1:{proxy.Port}/";
            s.ConfigureOptions = o => o with { ReconnectInitialDelay = TimeSpan.FromMilliseconds(50), ReconnectMaxDelay = TimeSpan.FromMilliseconds(200) };
        }));
        await host.StartAsync(Ct);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);

        proxy.RefuseNew = true;
        proxy.CutAll();
        // The state turns to Reconnecting as soon as the connection is gone; its error follows with the
        // ConnectionLost event, raised in order but not synchronously: a probe in between sees no error yet.
        var degraded = await WaitForStatusAsync(host, HealthStatus.Degraded, r => r.Data.ContainsKey("lastError"));
        Assert.Equal("Reconnecting", degraded.Data["state"]);

        proxy.RefuseNew = false;
        var healthy = await WaitForStatusAsync(host, HealthStatus.Healthy);
        Assert.Equal(2, healthy.Data["generation"]);
    }

    [Fact]
    public async Task Blocked_by_a_memory_alarm_is_degraded_then_healthy_when_it_clears()
    {
        using var cts = new CancellationTokenSource(BrokerFixture.CtlTestTimeout);
        var ct = cts.Token;
        var q = await DeclareQueueAsync(what: "blocked");
        await using var host = BuildHost(b => b.Services.AddAmqpConnection());
        await host.StartAsync(ct);
        var conn = host.Services.GetRequiredService<AmqpConnection>();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.Blocked += (_, _) => blocked.TrySetResult();
        await using var plain = await conn.AllocateChannelAsync(cancellationToken: ct);

        bool restored = false;
        try
        {
            await Broker.SetVmMemoryHighWatermarkAsync(0.0000001);
            // RabbitMQ blocks a connection when it publishes during an alarm: publish until it does.
            for (int i = 0; !blocked.Task.IsCompleted; i++)
            {
                Assert.True(i < 100, "The broker never sent connection.blocked.");
                await plain.PublishAsync("", q, Utf8("trigger"), cancellationToken: ct);
                await Task.WhenAny(blocked.Task, Task.Delay(200, ct));
            }

            var health = await CheckAsync(host);
            Assert.Equal(HealthStatus.Degraded, health.Status);
            Assert.Equal("Blocked", health.Data["state"]);

            await Broker.SetVmMemoryHighWatermarkAsync(0.4);
            restored = true;
            await WaitForStatusAsync(host, HealthStatus.Healthy);
        }
        finally
        {
            if (!restored)
            {
                await Broker.SetVmMemoryHighWatermarkAsync(0.4);
            }
        }
    }

    [Fact]
    public async Task Refused_credentials_are_a_permanent_failure_unhealthy_with_the_error()
    {
        var target = new Uri(Broker.AmqpUri);
        await using var host = BuildHost(b => b.Services.AddAmqpConnection(configure: s =>
        {
            s.ConnectionString = $"amqp://guest:wrong-password@{target.Host}:{target.Port}/";
            s.WaitForConnectionAtStartup = false;
        }));
        await host.StartAsync(Ct);

        var health = await WaitForStatusAsync(host, HealthStatus.Unhealthy);
        Assert.Equal("Failed", health.Data["state"]);
        Assert.Contains(nameof(AmqpAuthenticationException), (string)health.Data["lastError"]);
        Assert.DoesNotContain("wrong-password", (string)health.Data["lastError"]);
    }

    private static async Task<HealthCheckResult> CheckAsync(TestHost host, string connectionName = AmqpHosting.DefaultConnectionName)
    {
        var registration = AmqpHealthChecks.ForConnection(connectionName);
        var check = registration.Factory(host.Services);
        return await check.CheckHealthAsync(new HealthCheckContext { Registration = registration });
    }

    private async Task<HealthCheckResult> WaitForStatusAsync(TestHost host, HealthStatus status, Func<HealthCheckResult, bool>? also = null)
    {
        using var bound = new CancellationTokenSource(WaitBound);
        while (true)
        {
            var result = await CheckAsync(host);
            if (result.Status == status && (also is null || also(result)))
            {
                return result;
            }

            await Task.Delay(50, bound.Token);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
