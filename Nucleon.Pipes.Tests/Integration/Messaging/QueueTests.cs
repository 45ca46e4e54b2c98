using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

[Collection(BrokerCollection.Name)]
public sealed class QueueTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Fact]
    public async Task Server_named_exclusive_queue_gets_a_generated_name_and_receives_messages()
    {
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var ok = await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct);
        Assert.StartsWith("amq.gen-", ok.QueueName, StringComparison.Ordinal);
        Assert.Equal(0u, ok.MessageCount);
        Assert.Equal(0u, ok.ConsumerCount);

        await PublishConfirmedAsync("", ok.QueueName, "hello");
        var again = await ch.QueueDeclareAsync(ok.QueueName, passive: true, cancellationToken: Ct);
        Assert.Equal(1u, again.MessageCount);
    }

    [Fact]
    public async Task Exclusive_queue_is_locked_to_its_connection_and_deleted_with_it()
    {
        var q = NewQueue("exclusive");
        var owner = await ConnectAsync();
        await using (var ch = await owner.AllocateChannelAsync(cancellationToken: Ct))
        {
            await ch.QueueDeclareAsync(q, exclusive: true, cancellationToken: Ct);
        }

        await using (var other = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            var locked = await Assert.ThrowsAsync<AmqpChannelException>(() => other.QueueDeclareAsync(q, passive: true, cancellationToken: Ct));
            Assert.Equal(405, locked.ReplyCode); // RESOURCE_LOCKED
        }

        await owner.CloseAsync(Ct);
        await using var after = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var gone = await Assert.ThrowsAsync<AmqpChannelException>(() => after.QueueDeclareAsync(q, passive: true, cancellationToken: Ct));
        Assert.Equal(404, gone.ReplyCode);
    }

    [Fact]
    public async Task Arguments_reach_the_broker_x_max_length_keeps_the_newest()
    {
        var q = await DeclareQueueAsync(new Dictionary<string, object?> { ["x-max-length"] = 2 });
        for (var i = 0; i < 5; i++)
        {
            await PublishConfirmedAsync("", q, $"m{i}");
        }

        Assert.Equal(2u, await ReadyCountAsync(q));
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        Assert.Equal("m3", Text((await ch.GetAsync(q, autoAck: true, cancellationToken: Ct))!.Value));
        Assert.Equal("m4", Text((await ch.GetAsync(q, autoAck: true, cancellationToken: Ct))!.Value));

        // Redeclaring without the argument is inequivalent: the broker stored it.
        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.QueueDeclareAsync(q, cancellationToken: Ct));
        Assert.Equal(406, ex.ReplyCode);
        Assert.Contains("x-max-length", ex.ReplyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Passive_declare_of_a_missing_queue_is_404()
    {
        var q = NewQueue("missing");
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct));
        Assert.Equal(404, ex.ReplyCode);
        Assert.Contains(q, ex.ReplyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bind_routes_and_unbind_stops_routing()
    {
        var x = NewExchange("bind");
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(x, ExchangeType.Direct, cancellationToken: Ct);
        await ch.QueueBindAsync(q, x, "key", cancellationToken: Ct);

        await using var pub = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await pub.PublishAsync(x, "key", Utf8("bound"), mandatory: true, cancellationToken: Ct);
        var m = await ch.GetAsync(q, autoAck: true, cancellationToken: Ct);
        Assert.Equal("bound", Text(m!.Value));

        await ch.QueueUnbindAsync(q, x, "key", cancellationToken: Ct);
        var returned = await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => pub.PublishAsync(x, "key", Utf8("unbound"), mandatory: true, cancellationToken: Ct).AsTask());
        Assert.Equal(312, returned.ReplyCode);
        Assert.Equal(x, returned.Exchange);
        Assert.Equal("key", returned.RoutingKey);
        Assert.Equal(0u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Bind_with_arguments_on_a_headers_exchange()
    {
        var x = NewExchange("headers");
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(x, ExchangeType.Headers, cancellationToken: Ct);
        await ch.QueueBindAsync(q, x, "", new Dictionary<string, object?> { ["x-match"] = "all", ["color"] = "red" }, cancellationToken: Ct);

        await using var pub = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await pub.PublishAsync(x, "", Utf8("red"), new BasicProperties { Headers = new Dictionary<string, object?> { ["color"] = "red" } }, mandatory: true, cancellationToken: Ct);
        var blue = await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => pub.PublishAsync(x, "", Utf8("blue"),
            new BasicProperties { Headers = new Dictionary<string, object?> { ["color"] = "blue" } }, mandatory: true, cancellationToken: Ct).AsTask());
        Assert.Equal(312, blue.ReplyCode);
        Assert.Equal(1u, await ReadyCountAsync(q));

        await ch.QueueUnbindAsync(q, x, "", new Dictionary<string, object?> { ["x-match"] = "all", ["color"] = "red" }, cancellationToken: Ct);
        await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => pub.PublishAsync(x, "", Utf8("red"),
            new BasicProperties { Headers = new Dictionary<string, object?> { ["color"] = "red" } }, mandatory: true, cancellationToken: Ct).AsTask());
    }

    [Fact]
    public async Task Purge_returns_the_count_and_empties_the_queue()
    {
        var q = await DeclareQueueAsync();
        for (var i = 0; i < 3; i++)
        {
            await PublishConfirmedAsync("", q, $"m{i}");
        }

        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        Assert.Equal(3u, await ch.QueuePurgeAsync(q, Ct));
        Assert.Equal(0u, await ReadyCountAsync(q));
        Assert.Equal(0u, await ch.QueuePurgeAsync(q, Ct));
    }

    [Fact]
    public async Task Delete_returns_the_count_and_the_queue_is_gone()
    {
        var q = await DeclareQueueAsync();
        for (var i = 0; i < 4; i++)
        {
            await PublishConfirmedAsync("", q, $"m{i}");
        }

        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        Assert.Equal(4u, await ch.QueueDeleteAsync(q, cancellationToken: Ct));
        var gone = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct));
        Assert.Equal(404, gone.ReplyCode);
    }

    [Fact]
    public async Task Delete_ifEmpty_of_a_non_empty_queue_is_406_and_keeps_it()
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "keep me");
        await using (var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.QueueDeleteAsync(q, ifEmpty: true, cancellationToken: Ct));
            Assert.Equal(406, ex.ReplyCode);
            Assert.False(ch.IsOpen);
        }

        Assert.Equal(1u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Delete_ifUnused_of_a_consumed_queue_is_406()
    {
        var q = await DeclareQueueAsync();
        await using var consumerChannel = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await using var consumer = await consumerChannel.BasicConsumeAsync(q, cancellationToken: Ct);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.QueueDeleteAsync(q, ifUnused: true, cancellationToken: Ct));
        Assert.Equal(406, ex.ReplyCode);
    }

    [Fact]
    public async Task NoWait_queue_declare_and_bind_take_effect()
    {
        var x = NewExchange("nw");
        var q = NewQueue("nw");
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var result = await ch.QueueDeclareAsync(q, arguments: new Dictionary<string, object?> { ["x-max-length"] = 7 }, noWait: true, cancellationToken: Ct);
        Assert.Equal(q, result.QueueName);
        await ch.ExchangeDeclareAsync(x, ExchangeType.Direct, noWait: true, cancellationToken: Ct);
        await ch.QueueBindAsync(q, x, "k", noWait: true, cancellationToken: Ct);
        // Processed in order on the channel: the passive declare proves the nowait declare happened.
        var passive = await ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct);
        Assert.Equal(0u, passive.MessageCount);

        await using var pub = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await pub.PublishAsync(x, "k", Utf8("through nowait binding"), mandatory: true, cancellationToken: Ct);
        Assert.Equal(1u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task NoWait_with_a_server_named_queue_is_refused_client_side()
    {
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await Assert.ThrowsAsync<ArgumentException>(() => ch.QueueDeclareAsync("", noWait: true, cancellationToken: Ct));
        Assert.True(ch.IsOpen);
    }
}
