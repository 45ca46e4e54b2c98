using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

[Collection(BrokerCollection.Name)]
public sealed class ConfirmTxFlowTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Fact]
    public async Task Confirms_via_ChannelOptions_complete_when_the_broker_has_the_messages()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        Assert.True(ch.PublisherConfirms);
        var pending = new List<Task>();
        for (var i = 0; i < 50; i++)
        {
            pending.Add(ch.PublishAsync("", q, Utf8($"m{i}"), cancellationToken: Ct).AsTask());
        }

        await Task.WhenAll(pending).WaitAsync(Ct);
        Assert.Equal(50u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task ConfirmSelect_switches_a_plain_channel_to_confirm_mode()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        Assert.False(ch.PublisherConfirms);
        await ch.ConfirmSelectAsync(Ct);
        Assert.True(ch.PublisherConfirms);
        await ch.ConfirmSelectAsync(Ct); // idempotent

        await ch.PublishAsync("", q, Utf8("confirmed"), cancellationToken: Ct);
        Assert.Equal(1u, await ReadyCountAsync(q));
        // In confirm mode an unroutable mandatory publish fails instead of going to OnReturn.
        var returned = await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => ch.PublishAsync("", NewQueue("nowhere"), Utf8("x"), mandatory: true, cancellationToken: Ct).AsTask());
        Assert.Equal(312, returned.ReplyCode);
    }

    [Fact]
    public async Task Mandatory_unroutable_publish_on_a_confirm_channel_throws_returned_312()
    {
        var x = NewExchange("unroutable");
        await using var ch = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await ch.ExchangeDeclareAsync(x, ExchangeType.Direct, cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => ch.PublishAsync(x, "no-such-key", Utf8("lost"), mandatory: true, cancellationToken: Ct).AsTask());
        Assert.Equal(312, ex.ReplyCode);
        Assert.Equal("NO_ROUTE", ex.ReplyText);
        Assert.Equal(x, ex.Exchange);
        Assert.Equal("no-such-key", ex.RoutingKey);

        // Not mandatory: the broker drops it silently and confirms.
        await ch.PublishAsync(x, "no-such-key", Utf8("dropped"), cancellationToken: Ct);
        Assert.True(ch.IsOpen);
    }

    [Fact]
    public async Task Mandatory_unroutable_publish_on_a_plain_channel_goes_to_OnReturn()
    {
        var x = NewExchange("return");
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(x, ExchangeType.Direct, cancellationToken: Ct);
        var returned = new TaskCompletionSource<ReturnedMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        ch.OnReturn(r => returned.TrySetResult(r));

        var props = new BasicProperties { MessageId = "ret-1", Headers = new Dictionary<string, object?> { ["h"] = "v" } };
        await ch.PublishAsync(x, "nowhere", Utf8("come back"), props, mandatory: true, cancellationToken: Ct);
        var r = await returned.Task.WaitAsync(Ct);
        Assert.Equal(312, r.ReplyCode);
        Assert.Equal("NO_ROUTE", r.ReplyText);
        Assert.Equal(x, r.Exchange);
        Assert.Equal("nowhere", r.RoutingKey);
        Assert.Equal("come back", System.Text.Encoding.UTF8.GetString(r.Body.Span));
        Assert.Equal("ret-1", r.Properties.MessageId);
        Assert.Equal("v", r.Properties.Headers!["h"]);
        Assert.True(ch.IsOpen);
    }

    [Fact]
    public async Task Reject_publish_overflow_nacks_the_second_confirmed_publish()
    {
        var q = await DeclareQueueAsync(new Dictionary<string, object?> { ["x-max-length"] = 1, ["x-overflow"] = "reject-publish" });
        await using var ch = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await ch.PublishAsync("", q, Utf8("first"), cancellationToken: Ct);
        var nack = await Assert.ThrowsAsync<AmqpPublishNackedException>(() => ch.PublishAsync("", q, Utf8("second"), cancellationToken: Ct).AsTask());
        Assert.Equal(2ul, nack.SequenceNumber);
        Assert.True(ch.IsOpen); // a nack is not a channel error

        var m = await ch.GetAsync(q, autoAck: true, cancellationToken: Ct);
        Assert.Equal("first", Text(m!.Value));
        Assert.Null(await ch.GetAsync(q, cancellationToken: Ct));
        await ch.PublishAsync("", q, Utf8("third"), cancellationToken: Ct); // room again
    }

    [Fact]
    public async Task Tx_commit_makes_the_publish_visible_only_then()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.TxSelectAsync(Ct);
        await ch.PublishAsync("", q, Utf8("in tx"), cancellationToken: Ct);
        // A round trip on the tx channel guarantees the broker has seen the publish.
        Assert.Equal(0u, (await ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct)).MessageCount);
        Assert.Equal(0u, await ReadyCountAsync(q));

        await ch.TxCommitAsync(Ct);
        Assert.Equal(1u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Tx_rollback_discards_the_publish()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.TxSelectAsync(Ct);
        await ch.PublishAsync("", q, Utf8("rolled back"), cancellationToken: Ct);
        await ch.TxRollbackAsync(Ct);
        await ch.TxCommitAsync(Ct); // an empty commit: nothing left to commit
        Assert.Equal(0u, await ReadyCountAsync(q));
        Assert.Null(await ch.GetAsync(q, cancellationToken: Ct));
    }

    [Fact]
    public async Task Tx_commit_of_an_ack_removes_the_message_and_rollback_keeps_it()
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "tx ack");
        await using (var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await ch.TxSelectAsync(Ct);
            var m = await ch.GetAsync(q, cancellationToken: Ct);
            await ch.BasicAckAsync(m!.Value.DeliveryTag, cancellationToken: Ct);
            await ch.TxRollbackAsync(Ct);
            await ch.CloseAsync(Ct); // the rolled-back ack never happened: the close requeues
        }

        Assert.Equal(1u, await ReadyCountAsync(q));
        await using (var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await ch.TxSelectAsync(Ct);
            var m = await ch.GetAsync(q, cancellationToken: Ct);
            await ch.BasicAckAsync(m!.Value.DeliveryTag, cancellationToken: Ct);
            await ch.TxCommitAsync(Ct);
            await ch.CloseAsync(Ct);
        }

        Assert.Equal(0u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Tx_commit_without_select_is_a_406()
    {
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.TxCommitAsync(Ct));
        Assert.Equal(406, ex.ReplyCode);
        Assert.True(Conn.IsConnected);
    }

    [Fact]
    public async Task ChannelFlow_active_is_confirmed()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        Assert.True(await ch.ChannelFlowAsync(true, Ct));
        await PublishConfirmedAsync("", q, "still flowing");
        Assert.Equal("still flowing", Text((await ch.GetAsync(q, autoAck: true, cancellationToken: Ct))!.Value));
    }

    [Fact]
    public async Task CloseAsync_closes_the_channel_only()
    {
        var q = await DeclareQueueAsync();
        var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        Assert.True(ch.IsOpen);
        await ch.CloseAsync(Ct);
        Assert.False(ch.IsOpen);
        await ch.CloseAsync(Ct); // idempotent
        await Assert.ThrowsAsync<AmqpChannelClosedException>(() => ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct));
        var ex = ThrowsAtOnce(() => ch.PublishAsync("", q, Utf8("x"), cancellationToken: Ct));
        Assert.IsType<AmqpChannelClosedException>(ex);
        await ch.DisposeAsync();

        Assert.True(Conn.IsConnected);
        await using var other = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        Assert.True(other.IsOpen);
        await other.QueueDeclareAsync(q, passive: true, cancellationToken: Ct);
    }
}
