using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

[Collection(BrokerCollection.Name)]
public sealed class ChannelErrorTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Fact]
    public async Task Passive_404_closes_only_that_channel_and_the_connection_stays_usable()
    {
        var q = NewQueue("missing");
        var live = await DeclareQueueAsync();
        await using var bystander = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);

        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct));
        Assert.Equal(404, ex.ReplyCode);
        Assert.Contains(q, ex.ReplyText, StringComparison.Ordinal);
        Assert.Equal(50, ex.ClassId); // queue
        Assert.Equal(10, ex.MethodId); // declare
        Assert.False(ch.IsOpen);
        var reason = Assert.IsType<AmqpChannelException>(ch.CloseReason);
        Assert.Equal(404, reason.ReplyCode);

        // Later calls on the dead channel report the same error without a round trip.
        var again = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.QueueDeclareAsync(live, passive: true, cancellationToken: Ct));
        Assert.Equal(404, again.ReplyCode);

        Assert.True(Conn.IsConnected);
        Assert.Equal(1, Conn.Generation);
        Assert.True(bystander.IsOpen);
        await bystander.QueueDeclareAsync(live, passive: true, cancellationToken: Ct);
        await using var fresh = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await fresh.PublishAsync("", live, Utf8("still works"), cancellationToken: Ct);
        Assert.Equal("still works", Text((await fresh.GetAsync(live, autoAck: true, cancellationToken: Ct))!.Value));
    }

    [Fact]
    public async Task Acking_an_unknown_delivery_tag_gets_the_channel_closed_with_406()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.BasicAckAsync(424242, cancellationToken: Ct); // no reply: the broker answers with channel.close

        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct));
        Assert.Equal(406, ex.ReplyCode);
        Assert.Contains("unknown delivery tag 424242", ex.ReplyText, StringComparison.Ordinal);
        Assert.False(ch.IsOpen);

        // Publishing on the closed channel fails at once, with the broker's reason.
        var publish = ThrowsAtOnce(() => ch.PublishAsync("", q, Utf8("x"), cancellationToken: Ct));
        Assert.Equal(406, Assert.IsType<AmqpChannelException>(publish).ReplyCode);
        var ack = ThrowsAtOnce(() => ch.BasicAckAsync(1, cancellationToken: Ct));
        Assert.IsType<AmqpChannelException>(ack);

        Assert.True(Conn.IsConnected);
        Assert.Equal(1, Conn.Generation);
        await PublishConfirmedAsync("", q, "connection lives on");
        Assert.Equal(1u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Publish_on_a_confirm_channel_that_the_broker_closed_fails_at_once()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await Assert.ThrowsAsync<AmqpChannelException>(() => ch.ExchangeDeclareAsync(NewExchange("missing"), passive: true, cancellationToken: Ct));
        var ex = ThrowsAtOnce(() => ch.PublishAsync("", q, Utf8("x"), cancellationToken: Ct));
        Assert.Equal(404, Assert.IsType<AmqpChannelException>(ex).ReplyCode);
    }

    [Fact]
    public async Task A_rented_channel_that_failed_is_not_returned_to_the_pool()
    {
        var q = await DeclareQueueAsync();
        var session = Conn.CurrentSession!;
        await using (var ch = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            await Assert.ThrowsAsync<AmqpChannelException>(() => ch.QueueDeclareAsync(NewQueue("missing"), passive: true, cancellationToken: Ct));
        }

        var opensBefore = session.ChannelOpenCount;
        await using (var ch = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            Assert.True(ch.IsOpen);
            Assert.Equal(opensBefore + 1, session.ChannelOpenCount); // a new channel.open, not the broken one
            await ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct);
            await ch.PublishAsync("", q, Utf8("from a fresh pooled channel"), cancellationToken: Ct);
            // basic.get on the publishing channel is processed after the publish.
            Assert.Equal("from a fresh pooled channel", Text((await ch.GetAsync(q, autoAck: true, cancellationToken: Ct))!.Value));
        }
    }

    [Fact]
    public async Task Deleting_the_queue_cancels_the_consumer_and_ends_the_loop_with_AmqpConsumerCancelledException()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var first = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = 0;
        var loop = Task.Run(async () =>
        {
            await foreach (var m in ch.ConsumeAsync(q, cancellationToken: Ct))
            {
                received++;
                string text = Text(m); // read before settling: a settled message is recycled
                await m.AckAsync(cancellationToken: Ct);
                first.TrySetResult(text);
            }
        }, Ct);

        // The consumer is known to be running once it has received a message.
        await PublishConfirmedAsync("", q, "before delete");
        Assert.Equal("before delete", await first.Task.WaitAsync(Ct));

        await using (var admin = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await admin.QueueDeleteAsync(q, cancellationToken: Ct);
        }

        var ex = await Assert.ThrowsAsync<AmqpConsumerCancelledException>(() => loop.WaitAsync(Ct));
        Assert.StartsWith($"nucleon-1-{ch.ChannelNumber}-", ex.ConsumerTag, StringComparison.Ordinal);
        Assert.Equal(1, received);

        // A server-side cancel is not a channel error: the channel stays usable.
        Assert.True(ch.IsOpen);
        await ch.QueueDeclareAsync(q, exclusive: true, cancellationToken: Ct);
        Assert.True(Conn.IsConnected);
    }

    [Fact]
    public async Task Publishing_on_a_channel_the_broker_closed_fails_in_the_returned_task_not_by_throwing()
    {
        await using var ch = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await Assert.ThrowsAsync<AmqpChannelException>(() => ch.QueueDeclareAsync($"missing-{Guid.NewGuid():N}", passive: true, cancellationToken: Ct));
        // Collected first, awaited later (as a batch publisher does): the call itself must not throw.
        Task publish = ch.PublishAsync("", "nowhere", new byte[] { 1 }, cancellationToken: Ct).AsTask();
        await Assert.ThrowsAnyAsync<AmqpException>(() => publish);
    }
}
