using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

[Collection(BrokerCollection.Name)]
public sealed class BasicTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Fact]
    public async Task Get_returns_the_message_then_null_when_empty()
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "one");
        await PublishConfirmedAsync("", q, "two");

        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var first = await ch.GetAsync(q, autoAck: true, cancellationToken: Ct);
        Assert.NotNull(first);
        Assert.Equal("one", Text(first.Value));
        Assert.Equal(1u, first.Value.MessageCount); // one left behind it
        Assert.Equal("", first.Value.Exchange);
        Assert.Equal(q, first.Value.RoutingKey);
        Assert.False(first.Value.Redelivered);
        Assert.Equal("", first.Value.ConsumerTag);

        var second = await ch.BasicGetAsync(q, autoAck: true, cancellationToken: Ct);
        Assert.Equal("two", Text(second!.Value));
        Assert.Equal(0u, second.Value.MessageCount);

        Assert.Null(await ch.GetAsync(q, cancellationToken: Ct));
        Assert.True(ch.IsOpen);
    }

    [Fact]
    public async Task Ack_by_tag_removes_the_message_for_good()
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "ack me");
        await using (var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            var m = await ch.GetAsync(q, cancellationToken: Ct);
            await ch.BasicAckAsync(m!.Value.DeliveryTag, cancellationToken: Ct);
            await ch.CloseAsync(Ct); // unacked messages would be requeued by the close
        }

        Assert.Equal(0u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Unacked_get_is_requeued_when_the_channel_closes()
    {
        // The control for the ack test: without the ack, the close requeues the message.
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "not acked");
        await using (var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            Assert.NotNull(await ch.GetAsync(q, cancellationToken: Ct));
            Assert.Equal(0u, await ReadyCountAsync(q));
            await ch.CloseAsync(Ct);
        }

        Assert.Equal(1u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Nack_by_tag_with_requeue_redelivers_with_the_redelivered_flag()
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "again");
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var m = await ch.GetAsync(q, cancellationToken: Ct);
        Assert.False(m!.Value.Redelivered);
        await ch.BasicNackAsync(m.Value.DeliveryTag, requeue: true, cancellationToken: Ct);

        var again = await ch.GetAsync(q, cancellationToken: Ct);
        Assert.NotNull(again);
        Assert.True(again.Value.Redelivered);
        Assert.Equal("again", Text(again.Value));
        Assert.NotEqual(m.Value.DeliveryTag, again.Value.DeliveryTag);
        await ch.BasicAckAsync(again.Value.DeliveryTag, cancellationToken: Ct);
        Assert.Null(await ch.GetAsync(q, cancellationToken: Ct));
    }

    [Fact]
    public async Task Reject_by_tag_without_requeue_drops_and_with_requeue_redelivers()
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "drop");
        await PublishConfirmedAsync("", q, "keep");
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var drop = await ch.GetAsync(q, cancellationToken: Ct);
        Assert.Equal("drop", Text(drop!.Value));
        await ch.BasicRejectAsync(drop.Value.DeliveryTag, requeue: false, cancellationToken: Ct);

        var keep = await ch.GetAsync(q, cancellationToken: Ct);
        Assert.Equal("keep", Text(keep!.Value));
        await ch.BasicRejectAsync(keep.Value.DeliveryTag, requeue: true, cancellationToken: Ct);

        var redelivered = await ch.GetAsync(q, autoAck: true, cancellationToken: Ct);
        Assert.Equal("keep", Text(redelivered!.Value));
        Assert.True(redelivered.Value.Redelivered);
        Assert.Null(await ch.GetAsync(q, cancellationToken: Ct)); // "drop" is gone
    }

    [Fact]
    public async Task Nack_multiple_requeues_every_earlier_delivery()
    {
        var q = await DeclareQueueAsync();
        for (var i = 0; i < 4; i++)
        {
            await PublishConfirmedAsync("", q, $"m{i}");
        }

        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var tags = new List<ulong>();
        for (var i = 0; i < 3; i++)
        {
            tags.Add((await ch.GetAsync(q, cancellationToken: Ct))!.Value.DeliveryTag);
        }

        await ch.BasicNackAsync(tags[^1], multiple: true, requeue: true, cancellationToken: Ct);
        // basic.get on the same channel is processed after the nack (a passive declare would not be:
        // see Cancelling_a_consumer_hands_its_unread_deliveries_back_to_the_queue).

        var seen = new List<(string Body, bool Redelivered)>();
        while (await ch.GetAsync(q, autoAck: true, cancellationToken: Ct) is { } m)
        {
            seen.Add((Text(m), m.Redelivered));
        }

        Assert.Equal(4, seen.Count);
        Assert.Equal("m0,m1,m2,m3", string.Join(",", seen.Select(s => s.Body).Order(StringComparer.Ordinal)));
        Assert.Equal(3, seen.Count(s => s.Redelivered));
        Assert.Contains(("m3", false), seen);
    }

    [Fact]
    public async Task Recover_redelivers_unacked_messages()
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "recover me");
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var m = await ch.GetAsync(q, cancellationToken: Ct);
        Assert.False(m!.Value.Redelivered);
        Assert.Equal(0u, await ReadyCountAsync(q));

        await ch.BasicRecoverAsync(Ct);
        var again = await ch.GetAsync(q, cancellationToken: Ct);
        Assert.NotNull(again);
        Assert.True(again.Value.Redelivered);
        Assert.Equal("recover me", Text(again.Value));
        await ch.BasicAckAsync(again.Value.DeliveryTag, cancellationToken: Ct);
    }

    [Fact]
    public async Task BasicConsume_delivers_in_order_and_BasicCancel_ends_the_stream()
    {
        var q = await DeclareQueueAsync();
        for (var i = 0; i < 3; i++)
        {
            await PublishConfirmedAsync("", q, $"m{i}");
        }

        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var consumer = await ch.BasicConsumeAsync(q, new ConsumeOptions { ConsumerTag = "it-tag-" + Guid.NewGuid().ToString("N") }, Ct);
        Assert.StartsWith("it-tag-", consumer.ConsumerTag, StringComparison.Ordinal);
        Assert.Equal(1u, (await ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct)).ConsumerCount);

        var e = consumer.Messages.GetAsyncEnumerator(Ct);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await e.MoveNextAsync());
            Assert.Equal($"m{i}", Text(e.Current));
            Assert.Equal(consumer.ConsumerTag, e.Current.ConsumerTag);
            await e.Current.AckAsync(cancellationToken: Ct);
        }

        var next = e.MoveNextAsync().AsTask();
        await AssertStaysPendingAsync(next, "MoveNextAsync on an empty queue");
        await ch.BasicCancelAsync(consumer.ConsumerTag, Ct);
        Assert.False(await next.WaitAsync(Ct));

        Assert.Equal(0u, (await ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct)).ConsumerCount);
        await PublishConfirmedAsync("", q, "after cancel");
        Assert.Equal(1u, await ReadyCountAsync(q));
        await e.DisposeAsync();
    }

    [Fact]
    public async Task Message_ack_nack_reject_through_a_consume_loop()
    {
        var q = await DeclareQueueAsync();
        foreach (var body in new[] { "ack", "nack", "reject-drop", "reject-requeue" })
        {
            await PublishConfirmedAsync("", q, body);
        }

        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var log = new List<string>();
        await foreach (var m in ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 10 }, Ct))
        {
            var body = Text(m);
            log.Add($"{body}:{m.Redelivered}");
            switch (body)
            {
                case "ack":
                    await m.AckAsync(cancellationToken: Ct);
                    break;
                case "nack" when !m.Redelivered:
                    await m.NackAsync(requeue: true, cancellationToken: Ct);
                    break;
                case "reject-drop":
                    await m.RejectAsync(requeue: false, cancellationToken: Ct);
                    break;
                case "reject-requeue" when !m.Redelivered:
                    await m.RejectAsync(requeue: true, cancellationToken: Ct);
                    break;
                default:
                    Assert.True(m.Redelivered, $"{body} was expected only as a redelivery");
                    await m.AckAsync(cancellationToken: Ct);
                    // Settling twice is refused client-side instead of costing the channel a 406.
                    await Assert.ThrowsAsync<InvalidOperationException>(() => m.AckAsync(cancellationToken: Ct).AsTask());
                    break;
            }

            if (log.Count == 6)
            {
                break;
            }
        }

        Assert.Equal("ack:False,nack:False,reject-drop:False,reject-requeue:False", string.Join(",", log.Take(4)));
        Assert.Equal("nack:True,reject-requeue:True", string.Join(",", log.Skip(4).Order(StringComparer.Ordinal)));
        Assert.True(ch.IsOpen);
        Assert.Equal(0u, await ReadyCountAsync(q));
        Assert.Null(await ch.GetAsync(q, cancellationToken: Ct));
    }

    [Fact]
    public async Task Qos_global_limits_the_channel_across_consumers()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        // BasicConsumeAsync sends its own per-consumer basic.qos (global=false, here 0 = unlimited) and
        // RabbitMQ's handling of a global=false qos also lifts any channel-wide (global=true) limit set
        // before it. So the channel limit is set after the consumer is running, before any message exists.
        var consumer = await ch.BasicConsumeAsync(q, new ConsumeOptions { Prefetch = 0 }, Ct);
        await ch.BasicQosAsync(2, global: true, cancellationToken: Ct);
        for (var i = 0; i < 5; i++)
        {
            await PublishConfirmedAsync("", q, $"m{i}");
        }

        var e = consumer.Messages.GetAsyncEnumerator(Ct);
        var tags = new List<ulong>();
        for (var i = 0; i < 2; i++)
        {
            Assert.True(await e.MoveNextAsync());
            tags.Add(e.Current.DeliveryTag);
        }

        var third = e.MoveNextAsync().AsTask();
        await AssertStaysPendingAsync(third, "a third delivery beyond basic.qos 2");
        Assert.Equal(3u, await ReadyCountAsync(q));

        await ch.BasicAckAsync(tags[1], multiple: true, cancellationToken: Ct);
        Assert.True(await third.WaitAsync(Ct));
        Assert.Equal("m2", Text(e.Current));
        await consumer.CancelAsync();
        await e.DisposeAsync();
    }

    [Fact]
    public async Task Cancelling_a_consumer_hands_its_unread_deliveries_back_to_the_queue()
    {
        var q = await DeclareQueueAsync();
        for (var i = 0; i < 5; i++)
        {
            await PublishConfirmedAsync("", q, $"m{i}");
        }

        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var consumer = await ch.BasicConsumeAsync(q, new ConsumeOptions { Prefetch = 10 }, Ct);
        var e = consumer.Messages.GetAsyncEnumerator(Ct);
        Assert.True(await e.MoveNextAsync());
        Assert.Equal("m0", Text(e.Current));
        await e.Current.AckAsync(cancellationToken: Ct);

        // All five were pushed at once (prefetch 10); four sit unread in the client's inbox.
        Assert.Equal(0u, (await ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct)).MessageCount);
        await ch.BasicCancelAsync(consumer.ConsumerTag, Ct);
        Assert.False(await e.MoveNextAsync());
        await e.DisposeAsync();

        // The loop (the inbox's only reader) rejected (requeue) the four unread ones when it ended. A passive
        // declare is NOT a barrier for that: RabbitMQ's classic queue process serves the 'stat' call
        // behind queue.declare with priority, ahead of requeues already sent. basic.get on the same
        // channel is an ordinary call, processed after them.
        var back = new List<string>();
        while (await ch.GetAsync(q, autoAck: true, cancellationToken: Ct) is { } m)
        {
            Assert.True(m.Redelivered);
            back.Add(Text(m));
        }

        Assert.Equal("m1,m2,m3,m4", string.Join(",", back));
    }
}
