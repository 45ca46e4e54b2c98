using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>Publisher confirms that the broker sends out of order, and publishes whose caller gives up.</summary>
[Collection(BrokerCollection.Name)]
public sealed class ConfirmOrderingTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Fact]
    public async Task A_persistent_publish_confirmed_after_many_later_unroutable_ones_still_completes()
    {
        // RabbitMQ confirms a persistent message to a durable queue after fsync, unroutable ones at once.
        const int window = 4;
        var q = NewQueue("durable");
        await using var conn = new AmqpConnection(AmqpConnectionOptions.Parse(Broker.AmqpUri) with { MaxOutstandingConfirms = window });
        await conn.ConnectAsync(Ct);
        await using var ch = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await ch.QueueDeclareAsync(q, durable: true, cancellationToken: Ct);
        var persistent = new BasicProperties { DeliveryMode = DeliveryMode.Persistent };
        for (int round = 0; round < 5; round++)
        {
            var all = new List<Task> { ch.PublishAsync("", q, Utf8($"persistent {round}"), persistent, cancellationToken: Ct).AsTask() };
            for (int i = 0; i < 4 * window; i++)
            {
                all.Add(ch.PublishAsync("", NewQueue("nowhere"), Utf8("unroutable"), cancellationToken: Ct).AsTask());
            }

            await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        }

        Assert.Equal(5u, await ReadyCountAsync(q, conn));
    }

    [Fact]
    public async Task A_confirmed_publish_waiting_on_a_silent_network_honours_its_token_and_the_channel_recovers()
    {
        // Heartbeats off: before the fix such a publish waited for ever.
        await using var proxy = new TcpFaultProxy(Broker.Host, Broker.Port);
        await proxy.StartAsync();
        await using var conn = new AmqpConnection(AmqpConnectionOptions.Parse(Broker.AmqpUri) with
        {
            Endpoints = [new AmqpEndpoint("127.0.0.1", proxy.Port)],
            Heartbeat = TimeSpan.Zero,
        });
        await conn.ConnectAsync(Ct);
        var q = await DeclareQueueAsync();
        await using var ch = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        proxy.Stall();
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var stuck = Enumerable.Range(0, 10).Select(i => ch.PublishAsync("", q, Utf8($"m{i}"), cancellationToken: giveUp.Token).AsTask()).ToArray();
        await AssertStaysPendingAsync(stuck[0], "a publish over a stalled network");
        giveUp.Cancel();
        foreach (var p in stuck)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => p.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        }

        proxy.Resume();
        // The broker still gets and confirms the ten; the channel carries on with the next publish.
        await ch.PublishAsync("", q, Utf8("after"), cancellationToken: Ct);
        Assert.True(ch.IsOpen);
        Assert.Equal(11u, await ReadyCountAsync(q, conn));
    }
}
