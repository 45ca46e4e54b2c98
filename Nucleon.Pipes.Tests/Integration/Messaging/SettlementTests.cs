using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>Settling a delivery twice is refused by the client, before the broker would close the channel with 406.</summary>
[Collection(BrokerCollection.Name)]
public sealed class SettlementTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    private async Task<(MessageChannel Channel, List<Message> Messages)> ReceiveAsync(int count)
    {
        var q = await DeclareQueueAsync();
        for (int i = 0; i < count; i++)
        {
            await PublishConfirmedAsync("", q, $"m{i}");
        }

        var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var messages = new List<Message>();
        await foreach (var m in ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 10 }, Ct))
        {
            messages.Add(m.Detach());
            if (messages.Count == count)
            {
                break;
            }
        }

        return (ch, messages);
    }

    [Fact]
    public async Task A_multiple_ack_settles_the_earlier_deliveries_it_covers()
    {
        var (ch, messages) = await ReceiveAsync(3);
        await using var channel = ch;
        await messages[1].AckAsync(multiple: true, cancellationToken: Ct);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await messages[0].AckAsync(cancellationToken: Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await messages[1].RejectAsync(cancellationToken: Ct));
        await messages[2].AckAsync(cancellationToken: Ct);
        await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct); // a round trip: no 406 came
        Assert.True(ch.IsOpen, $"channel closed: {ch.CloseReason}");
    }

    [Fact]
    public async Task A_detached_copy_and_its_original_settle_once_between_them()
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "once");
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var got = await ch.GetAsync(q, cancellationToken: Ct);
        var original = got!.Value;
        var copy = original.Detach();
        await original.AckAsync(cancellationToken: Ct);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await copy.AckAsync(cancellationToken: Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await original.Detach().NackAsync(cancellationToken: Ct));
        await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct);
        Assert.True(ch.IsOpen, $"channel closed: {ch.CloseReason}");
    }

    [Fact]
    public async Task Pausing_a_channel_on_RabbitMQ_is_refused_without_killing_the_connection()
    {
        var conn = await ConnectAsync();
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: Ct);
        await Assert.ThrowsAsync<NotSupportedException>(() => ch.ChannelFlowAsync(false, Ct));
        Assert.True(await ch.ChannelFlowAsync(true, Ct));
        await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct);
        Assert.True(conn.IsConnected);
    }
}
