using System.Text;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Connection;

[Collection(BrokerCollection.Name)]
public sealed class ConnectionNegotiationTests(BrokerFixture broker)
{
    private static readonly TimeSpan Timeout = BrokerFixture.CtlTestTimeout;

    private static readonly string[] Capabilities =
    [
        "publisher_confirms",
        "exchange_exchange_bindings",
        "basic.nack",
        "consumer_cancel_notify",
        "connection.blocked",
        "authentication_failure_close",
        "per_consumer_qos",
    ];

    [Fact]
    public async Task Broker_sees_product_connection_name_and_every_capability()
    {
        using var cts = new CancellationTokenSource(Timeout);
        string name = BrokerConnectionInfo.UniqueName("nucleon-props");
        await using var conn = new AmqpConnection(BrokerConnectionInfo.Uri(broker, $"connection_name={name}"));
        await conn.ConnectAsync(cts.Token);

        var info = await BrokerConnectionInfo.FindAsync(broker, name);
        string props = info.ClientProperties;
        // rabbitmqctl prints them as [{"product","Nucleon.Pipes"},...,{"capabilities",[{"publisher_confirms",true},...]},...].
        Assert.Contains("{\"product\",\"Nucleon.Pipes\"}", props, StringComparison.Ordinal);
        Assert.Contains($"{{\"connection_name\",\"{name}\"}}", props, StringComparison.Ordinal);
        int start = props.IndexOf("{\"capabilities\",[", StringComparison.Ordinal);
        Assert.True(start >= 0, props);
        int end = props.IndexOf("]}", start, StringComparison.Ordinal);
        Assert.True(end > start, props);
        string capabilities = props[start..end];
        foreach (var capability in Capabilities)
        {
            Assert.Contains($"{{\"{capability}\",true}}", capabilities, StringComparison.Ordinal);
        }

        // And the broker's own side of the exchange reached us.
        Assert.Equal("RabbitMQ", Assert.IsType<string>(conn.ServerProperties["product"]));
    }

    [Fact]
    public async Task UpdateSecretAsync_is_answered_by_the_broker_and_the_connection_keeps_working()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var conn = new AmqpConnection(BrokerConnectionInfo.Uri(broker, $"connection_name={BrokerConnectionInfo.UniqueName("nucleon-secret")}"));
        await conn.ConnectAsync(cts.Token);

        // RabbitMQ checks the new secret with the connection's auth backend; the internal one takes the password.
        await conn.UpdateSecretAsync("guest", "rotation test", cts.Token);
        await conn.UpdateSecretAsync("guest", "twice in a row", cts.Token);

        await using var ch = await conn.AllocateChannelAsync(cancellationToken: cts.Token);
        await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: cts.Token);
        Assert.Equal(1, conn.Generation);
        Assert.True(conn.IsConnected);
    }

    [Fact]
    public async Task Custom_client_properties_reach_the_broker_and_the_clients_own_cannot_be_replaced()
    {
        using var cts = new CancellationTokenSource(Timeout);
        string name = BrokerConnectionInfo.UniqueName("nucleon-custom");
        var options = AmqpConnectionOptions.Parse(BrokerConnectionInfo.Uri(broker, $"connection_name={name}")) with
        {
            ClientProperties = new Dictionary<string, object?> { ["service"] = "billing", ["instance"] = 7 },
        };
        await using var conn = new AmqpConnection(options);
        await conn.ConnectAsync(cts.Token);

        var props = (await BrokerConnectionInfo.FindAsync(broker, name)).ClientProperties;
        Assert.Contains("{\"service\",\"billing\"}", props, StringComparison.Ordinal);
        Assert.Contains("{\"instance\",7}", props, StringComparison.Ordinal);
        Assert.Contains("{\"product\",\"Nucleon.Pipes\"}", props, StringComparison.Ordinal);

        var reserved = options with { ClientProperties = new Dictionary<string, object?> { ["product"] = "mine" } };
        Assert.Contains("product", Assert.Throws<ArgumentException>(() => new AmqpConnection(reserved)).Message, StringComparison.Ordinal);
        var unsupported = options with { ClientProperties = new Dictionary<string, object?> { ["when"] = new object() } };
        Assert.Throws<ArgumentException>(() => new AmqpConnection(unsupported));
    }

    [Fact]
    public async Task Frame_max_and_channel_max_are_negotiated_and_honoured()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string name = BrokerConnectionInfo.UniqueName("nucleon-tune");
        await using var conn = new AmqpConnection(BrokerConnectionInfo.Uri(broker, $"frame_max=8192&channel_max=10&connection_name={name}"));
        Assert.Null(conn.Tuning);
        await conn.ConnectAsync(ct);

        Assert.Equal(new AmqpTuning(conn.Options.Heartbeat, 8192, 10), conn.Tuning);
        var info = await BrokerConnectionInfo.FindAsync(broker, name);
        Assert.Equal(8192u, info.FrameMax);
        Assert.Equal(10, info.ChannelMax);

        // Channel numbers beyond channel_max are never used: an 11th concurrent channel is refused.
        var channels = new List<MessageChannel>();
        try
        {
            for (int i = 0; i < 10; i++)
            {
                var ch = await conn.AllocateChannelAsync(cancellationToken: ct);
                channels.Add(ch);
                Assert.InRange(ch.ChannelNumber, 1, 10);
            }

            Assert.Equal(10, channels.Select(c => c.ChannelNumber).Distinct().Count());
            var ex = await Assert.ThrowsAnyAsync<AmqpException>(() => conn.AllocateChannelAsync(cancellationToken: ct));
            Assert.Contains("channel_max", ex.Message, StringComparison.Ordinal);
            Assert.True(conn.IsConnected);
        }
        finally
        {
            foreach (var ch in channels)
            {
                await ch.DisposeAsync();
            }
        }

        // A body several times frame_max goes out split and comes back whole.
        byte[] body = new byte[50_000];
        new Random(42).NextBytes(body);
        string queue = BrokerConnectionInfo.UniqueName("nucleon-tune-q");
        await using (var ch = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
        {
            await ch.QueueDeclareAsync(queue, exclusive: true, cancellationToken: ct);
            await ch.PublishAsync("", queue, body, cancellationToken: ct);
            var m = await ch.GetAsync(queue, autoAck: true, cancellationToken: ct);
            Assert.NotNull(m);
            Assert.Equal(body, m.Value.Body.ToArray());
        }
    }

    [Fact]
    public async Task AMQPLAIN_login_works()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string name = BrokerConnectionInfo.UniqueName("nucleon-amqplain");
        await using var conn = new AmqpConnection(BrokerConnectionInfo.Uri(broker, $"auth_mechanism=amqplain&connection_name={name}"));
        Assert.Equal("AMQPLAIN", conn.Options.AuthMechanism, ignoreCase: true);
        await conn.ConnectAsync(ct);

        var info = await BrokerConnectionInfo.FindAsync(broker, name);
        Assert.Equal("AMQPLAIN", info.AuthMechanism);

        await using var ch = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct);
        string queue = BrokerConnectionInfo.UniqueName("nucleon-amqplain-q");
        await ch.QueueDeclareAsync(queue, exclusive: true, cancellationToken: ct);
        await ch.PublishAsync("", queue, Encoding.UTF8.GetBytes("hello"), cancellationToken: ct);
        var m = await ch.GetAsync(queue, autoAck: true, cancellationToken: ct);
        Assert.Equal("hello", Encoding.UTF8.GetString(Assert.NotNull(m).Body.Span));
    }
}
