using Nucleon.Pipes.Tests.Infrastructure;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>Deliveries buffered from a connection that is gone are not handed out: they could never be acked.</summary>
[Collection(BrokerCollection.Name)]
public sealed class ConnectionLossDeliveryTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Fact]
    public async Task After_a_cut_the_connection_level_consumer_hands_out_only_messages_it_can_ack()
    {
        const int count = 50;
        var q = await DeclareQueueAsync();
        await using (var publisher = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct))
        {
            for (int i = 0; i < count; i++)
            {
                await publisher.PublishAsync("", q, Body(i), cancellationToken: Ct);
            }
        }

        await using var proxy = new TcpFaultProxy(Broker.Host, Broker.Port);
        await proxy.StartAsync();
        await using var conn = new AmqpConnection(ViaProxy(Broker, proxy, "loss-buffered"));
        await conn.ConnectAsync(Ct);
        await using var stream = conn.ConsumeAsync(q, new ConsumeOptions { Prefetch = count }).GetAsyncEnumerator(Ct);
        Assert.True(await stream.MoveNextAsync());
        var first = stream.Current;
        Assert.True(first.CanSettle);

        // Every message is on its way to the client before the cut.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await ReadyCountAsync(q) != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the broker did not send the prefetch");
            await Task.Delay(20, Ct);
        }

        await WaitUntilAsync(() => proxy.BytesDownstream > count * 8, TimeSpan.FromSeconds(30), "the deliveries reach the client");
        proxy.CutAll();
        await WaitUntilAsync(() => conn.Generation >= 2 && conn.IsConnected, TimeSpan.FromSeconds(30), () => $"reconnect (generation {conn.Generation})");
        Assert.False(first.CanSettle);
        await Assert.ThrowsAsync<AmqpConnectionLostException>(async () => await first.AckAsync(cancellationToken: Ct));

        var ids = new HashSet<long>();
        int failedAcks = 0;
        while (ids.Count < count)
        {
            Assert.True(await stream.MoveNextAsync());
            var m = stream.Current;
            long id = Id(m.Body);
            Assert.True(m.CanSettle, $"message {id} from the lost connection was handed out");
            try
            {
                await m.AckAsync(cancellationToken: Ct);
            }
            catch (AmqpConnectionLostException)
            {
                failedAcks++;
            }

            ids.Add(id);
        }

        Assert.Equal(0, failedAcks);
        Assert.Equal(count, ids.Count);
    }
}
