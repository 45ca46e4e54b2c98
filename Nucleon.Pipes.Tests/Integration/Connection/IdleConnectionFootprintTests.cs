using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Connection;

/// <summary>
/// What an idle connection does not carry (issue 14, memory per idle connection; the figures are in
/// benchmarks/idle-memory.md): its own copy of the broker's server-properties, channel slots before any channel,
/// and the state that only channels, renters and events need. The total is measured by the scale benchmark, not
/// asserted here: on a loaded machine it moves by tens of KB (see idle-memory.md).
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class IdleConnectionFootprintTests(BrokerFixture broker)
{
    private static readonly TimeSpan Timeout = BrokerFixture.CtlTestTimeout;

    [Fact]
    public async Task Connections_to_one_broker_share_one_read_only_server_properties_table()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var a = new AmqpConnection(broker.AmqpUri);
        await using var b = new AmqpConnection(broker.AmqpUri);
        await a.ConnectAsync(cts.Token);
        await b.ConnectAsync(cts.Token);

        Assert.Same(a.ServerProperties, b.ServerProperties);
        Assert.Equal("RabbitMQ", a.ServerProperties["product"]);
        Assert.True(a.ServerProperties.IsReadOnly);
        Assert.Throws<NotSupportedException>(() => a.ServerProperties["product"] = "changed");
        var capabilities = Assert.IsAssignableFrom<IDictionary<string, object?>>(a.ServerProperties["capabilities"]);
        Assert.True(capabilities.IsReadOnly);
        Assert.Equal(true, capabilities["publisher_confirms"]);
    }

    [Fact]
    public async Task An_idle_connection_holds_no_channel_slots_until_its_first_channel_and_then_works()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var conn = new AmqpConnection(broker.AmqpUri);
        await conn.ConnectAsync(cts.Token);
        var session = conn.CurrentSession!;

        Assert.Empty(session.ChannelSnapshot());

        // The first renter creates the pool and the first slots; the pool then reuses the channel.
        await using (var rented = await conn.RentChannelAsync(cancellationToken: cts.Token))
        {
            Assert.Equal(1, rented.ChannelNumber);
        }

        await using (var again = await conn.RentChannelAsync(cancellationToken: cts.Token))
        {
            Assert.Equal(1, again.ChannelNumber);
        }

        Assert.NotEmpty(session.ChannelSnapshot());
        Assert.Equal(1, session.ChannelOpenCount);
        await using var allocated = await conn.AllocateChannelAsync(cancellationToken: cts.Token);
        Assert.Equal(2, allocated.ChannelNumber);
    }
}
