using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

[Collection(BrokerCollection.Name)]
public sealed class ExchangeTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Theory]
    [InlineData(ExchangeType.Direct, ExchangeType.Fanout)]
    [InlineData(ExchangeType.Fanout, ExchangeType.Topic)]
    [InlineData(ExchangeType.Topic, ExchangeType.Headers)]
    [InlineData(ExchangeType.Headers, ExchangeType.Direct)]
    public async Task Declare_each_type_then_passive_succeeds_and_a_different_type_is_refused(string type, string otherType)
    {
        var x = NewExchange(type);
        await using (var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await ch.ExchangeDeclareAsync(x, type, cancellationToken: Ct);
            await ch.ExchangeDeclareAsync(x, type, passive: true, cancellationToken: Ct);
            // Redeclaring with the same type is idempotent.
            await ch.ExchangeDeclareAsync(x, type, cancellationToken: Ct);
            Assert.True(ch.IsOpen);
        }

        // The broker really stored the type we sent: another type is "inequivalent".
        await using var ch2 = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch2.ExchangeDeclareAsync(x, otherType, cancellationToken: Ct));
        Assert.Equal(406, ex.ReplyCode);
        Assert.Contains("type", ex.ReplyText, StringComparison.OrdinalIgnoreCase);
        Assert.False(ch2.IsOpen);
    }

    [Theory]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, true)]
    public async Task Declare_flags_are_stored_by_the_broker(bool durable, bool autoDelete, bool @internal)
    {
        var x = NewExchange("flags");
        await using (var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await ch.ExchangeDeclareAsync(x, ExchangeType.Topic, durable, autoDelete, @internal, cancellationToken: Ct);
            await ch.ExchangeDeclareAsync(x, ExchangeType.Topic, durable, autoDelete, @internal, cancellationToken: Ct);
        }

        // Without the flag the declaration is inequivalent: proves the flag reached the broker.
        await using var ch2 = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch2.ExchangeDeclareAsync(x, ExchangeType.Topic, cancellationToken: Ct));
        Assert.Equal(406, ex.ReplyCode);
        var flag = durable ? "durable" : autoDelete ? "auto_delete" : "internal";
        Assert.Contains(flag, ex.ReplyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Internal_exchange_refuses_direct_publishes_with_403()
    {
        var x = NewExchange("internal");
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(x, ExchangeType.Fanout, @internal: true, cancellationToken: Ct);
        await ch.PublishAsync(x, "", Utf8("nope"), cancellationToken: Ct);
        // The publish has no reply; the broker's channel.close surfaces on the next call.
        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.ExchangeDeclareAsync(x, ExchangeType.Fanout, @internal: true, passive: true, cancellationToken: Ct));
        Assert.Equal(403, ex.ReplyCode);
        Assert.Contains("internal", ex.ReplyText, StringComparison.Ordinal);
        Assert.True(Conn.IsConnected);
    }

    [Fact]
    public async Task AutoDelete_exchange_goes_when_its_last_binding_goes()
    {
        var x = NewExchange("autodelete");
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(x, ExchangeType.Direct, autoDelete: true, cancellationToken: Ct);
        await ch.QueueBindAsync(q, x, "k", cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(x, ExchangeType.Direct, autoDelete: true, passive: true, cancellationToken: Ct);
        await ch.QueueUnbindAsync(q, x, "k", cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.ExchangeDeclareAsync(x, passive: true, cancellationToken: Ct));
        Assert.Equal(404, ex.ReplyCode);
    }

    [Fact]
    public async Task Passive_declare_of_a_missing_exchange_is_404_and_names_it()
    {
        var x = NewExchange("missing");
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.ExchangeDeclareAsync(x, passive: true, cancellationToken: Ct));
        Assert.Equal(404, ex.ReplyCode);
        Assert.Contains(x, ex.ReplyText, StringComparison.Ordinal);
        Assert.False(ch.IsOpen);
        Assert.True(Conn.IsConnected);
    }

    [Fact]
    public async Task Delete_ifUnused_is_refused_while_bound_and_succeeds_once_unbound()
    {
        var x = NewExchange("ifunused");
        var q = await DeclareQueueAsync();
        await using (var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await ch.ExchangeDeclareAsync(x, ExchangeType.Fanout, cancellationToken: Ct);
            await ch.QueueBindAsync(q, x, "", cancellationToken: Ct);
            var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.ExchangeDeleteAsync(x, ifUnused: true, cancellationToken: Ct));
            Assert.Equal(406, ex.ReplyCode);
        }

        await using var ch2 = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch2.ExchangeDeclareAsync(x, ExchangeType.Fanout, passive: true, cancellationToken: Ct); // still there
        await ch2.QueueUnbindAsync(q, x, "", cancellationToken: Ct);
        await ch2.ExchangeDeleteAsync(x, ifUnused: true, cancellationToken: Ct);
        var gone = await Assert.ThrowsAsync<AmqpChannelException>(() => ch2.ExchangeDeclareAsync(x, ExchangeType.Fanout, passive: true, cancellationToken: Ct));
        Assert.Equal(404, gone.ReplyCode);
    }

    [Fact]
    public async Task Exchange_to_exchange_binding_routes_and_unbind_stops_it()
    {
        var source = NewExchange("e2e-src");
        var destination = NewExchange("e2e-dst");
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(source, ExchangeType.Direct, cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(destination, ExchangeType.Fanout, cancellationToken: Ct);
        await ch.QueueBindAsync(q, destination, "", cancellationToken: Ct);
        await ch.ExchangeBindAsync(destination, source, "route", cancellationToken: Ct);

        await using var pub = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await pub.PublishAsync(source, "route", Utf8("via e2e"), mandatory: true, cancellationToken: Ct);
        var m = await ch.GetAsync(q, autoAck: true, cancellationToken: Ct);
        Assert.NotNull(m);
        Assert.Equal("via e2e", Text(m.Value));
        Assert.Equal(source, m.Value.Exchange);
        Assert.Equal("route", m.Value.RoutingKey);

        // Another key is not bound: unroutable.
        var other = await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => pub.PublishAsync(source, "other", Utf8("x"), mandatory: true, cancellationToken: Ct).AsTask());
        Assert.Equal(312, other.ReplyCode);

        await ch.ExchangeUnbindAsync(destination, source, "route", cancellationToken: Ct);
        var returned = await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => pub.PublishAsync(source, "route", Utf8("after unbind"), mandatory: true, cancellationToken: Ct).AsTask());
        Assert.Equal(312, returned.ReplyCode);
        Assert.Null(await ch.GetAsync(q, autoAck: true, cancellationToken: Ct));
    }

    [Fact]
    public async Task NoWait_exchange_methods_take_effect()
    {
        var source = NewExchange("nw-src");
        var destination = NewExchange("nw-dst");
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(source, ExchangeType.Topic, noWait: true, cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(destination, ExchangeType.Fanout, noWait: true, cancellationToken: Ct);
        // A passive declare on the same channel is processed after the nowait ones: proves they happened.
        await ch.ExchangeDeclareAsync(source, ExchangeType.Topic, passive: true, cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(destination, ExchangeType.Fanout, passive: true, cancellationToken: Ct);

        await ch.QueueBindAsync(q, destination, "", noWait: true, cancellationToken: Ct);
        await ch.ExchangeBindAsync(destination, source, "a.*", noWait: true, cancellationToken: Ct);
        // The publish goes on another channel, which the broker runs independently: a round trip on this
        // channel first, so the nowait bindings are in place before the message is routed.
        await ch.ExchangeDeclareAsync(source, ExchangeType.Topic, passive: true, cancellationToken: Ct);
        await using var pub = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await pub.PublishAsync(source, "a.b", Utf8("routed"), mandatory: true, cancellationToken: Ct);
        Assert.Equal(1u, await ReadyCountAsync(q));

        await ch.ExchangeUnbindAsync(destination, source, "a.*", noWait: true, cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(source, ExchangeType.Topic, passive: true, cancellationToken: Ct); // round trip after the unbind
        var returned = await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => pub.PublishAsync(source, "a.b", Utf8("x"), mandatory: true, cancellationToken: Ct).AsTask());
        Assert.Equal(312, returned.ReplyCode);

        await ch.ExchangeDeleteAsync(source, noWait: true, cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.ExchangeDeclareAsync(source, ExchangeType.Topic, passive: true, cancellationToken: Ct));
        Assert.Equal(404, ex.ReplyCode);
    }
}
