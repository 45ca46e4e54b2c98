using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

[Collection(BrokerCollection.Name)]
public sealed class ChannelPoolTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Fact]
    public async Task Rent_dispose_rent_reuses_the_plain_channel_without_a_new_channel_open()
    {
        var q = await DeclareQueueAsync();
        var session = Conn.CurrentSession!;
        var opens = session.ChannelOpenCount;

        ushort number;
        await using (var ch = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            number = ch.ChannelNumber;
            await ch.PublishAsync("", q, Utf8("first rental"), cancellationToken: Ct);
        }

        Assert.Equal(opens + 1, session.ChannelOpenCount);
        await using (var ch = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            Assert.Equal(number, ch.ChannelNumber);
            Assert.Equal(opens + 1, session.ChannelOpenCount); // no second channel.open
            Assert.True(ch.IsOpen);
            Assert.False(ch.PublisherConfirms);
            await ch.PublishAsync("", q, Utf8("second rental"), cancellationToken: Ct);
            // basic.get on the reused channel: a round trip proving the broker still has it open, and
            // ordered after both publishes (the first went out on this same channel).
            Assert.Equal("first rental", Text((await ch.GetAsync(q, autoAck: true, cancellationToken: Ct))!.Value));
            Assert.Equal("second rental", Text((await ch.GetAsync(q, autoAck: true, cancellationToken: Ct))!.Value));
        }
    }

    [Fact]
    public async Task Returned_channel_cannot_be_used_through_the_old_handle()
    {
        var q = await DeclareQueueAsync();
        var ch = await Conn.RentChannelAsync(cancellationToken: Ct);
        await ch.DisposeAsync();
        Assert.False(ch.IsOpen);
        await Assert.ThrowsAsync<AmqpChannelClosedException>(() => ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct));
        Assert.IsType<AmqpChannelClosedException>(ThrowsAtOnce(() => ch.PublishAsync("", q, Utf8("x"), cancellationToken: Ct)));
    }

    [Fact]
    public async Task Plain_and_confirm_pools_are_separate()
    {
        var q = await DeclareQueueAsync();
        var session = Conn.CurrentSession!;
        var opens = session.ChannelOpenCount;

        ushort plainNumber, confirmNumber;
        await using (var plain = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            plainNumber = plain.ChannelNumber;
        }

        await using (var confirming = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct))
        {
            // The pooled plain channel is not handed out for a confirm rental.
            Assert.NotEqual(plainNumber, confirming.ChannelNumber);
            Assert.True(confirming.PublisherConfirms);
            confirmNumber = confirming.ChannelNumber;
            await confirming.PublishAsync("", q, Utf8("confirmed"), cancellationToken: Ct);
        }

        Assert.Equal(opens + 2, session.ChannelOpenCount);

        await using (var plain = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            Assert.Equal(plainNumber, plain.ChannelNumber);
            Assert.False(plain.PublisherConfirms);
        }

        await using (var confirming = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct))
        {
            Assert.Equal(confirmNumber, confirming.ChannelNumber);
            Assert.True(confirming.PublisherConfirms);
            // Still in confirm mode on the broker: an unroutable mandatory publish fails with the return.
            await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => confirming.PublishAsync("", NewQueue("nowhere"), Utf8("x"), mandatory: true, cancellationToken: Ct).AsTask());
        }

        Assert.Equal(opens + 2, session.ChannelOpenCount);
        Assert.Equal(1u, await ReadyCountAsync(q));
    }

    [Theory]
    [InlineData("qos")]
    [InlineData("tx")]
    [InlineData("confirm-select")]
    [InlineData("closed")]
    public async Task A_channel_with_changed_channel_state_is_not_pooled_again(string change)
    {
        var session = Conn.CurrentSession!;
        await using (var ch = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            switch (change)
            {
                case "qos":
                    await ch.BasicQosAsync(3, cancellationToken: Ct);
                    break;
                case "tx":
                    await ch.TxSelectAsync(Ct);
                    break;
                case "confirm-select":
                    await ch.ConfirmSelectAsync(Ct);
                    break;
                default:
                    await ch.CloseAsync(Ct);
                    break;
            }
        }

        var opens = session.ChannelOpenCount;
        await using (var ch = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            Assert.Equal(opens + 1, session.ChannelOpenCount);
            Assert.False(ch.PublisherConfirms);
            // A tx channel would refuse confirm.select with 406; a fresh plain channel accepts it.
            await ch.ConfirmSelectAsync(Ct);
        }
    }

    [Fact]
    public async Task A_channel_with_a_running_consumer_is_not_pooled_again()
    {
        var q = await DeclareQueueAsync();
        var session = Conn.CurrentSession!;
        await using (var ch = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            _ = await ch.BasicConsumeAsync(q, cancellationToken: Ct); // left running on purpose
        }

        var opens = session.ChannelOpenCount;
        await using (var ch = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            Assert.Equal(opens + 1, session.ChannelOpenCount);
        }

        // The dropped channel was closed, which cancelled its consumer on the broker.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(10));
        while ((await ReadyCountConsumersAsync(q)) != 0)
        {
            await Task.Delay(50, deadline.Token); // the close is asynchronous (Discard): poll, bounded
        }
    }

    private async Task<uint> ReadyCountConsumersAsync(string queue)
    {
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        return (await ch.QueueDeclareAsync(queue, passive: true, cancellationToken: Ct)).ConsumerCount;
    }
}
