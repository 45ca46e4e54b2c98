using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>A renter never inherits what the previous renter of a pooled channel left behind.</summary>
[Collection(BrokerCollection.Name)]
public sealed class PooledChannelHygieneTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    private async Task WaitForReadyAsync(string queue, uint expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        uint ready;
        while ((ready = await ReadyCountAsync(queue)) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{ready} messages ready in {queue}; expected {expected}");
            await Task.Delay(50, Ct);
        }
    }

    [Fact]
    public async Task A_message_got_and_not_settled_goes_back_to_the_queue_when_the_channel_is_returned()
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "left unacked");
        await using (var a = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            Assert.NotNull(await a.GetAsync(q, cancellationToken: Ct));
        }

        await WaitForReadyAsync(q, 1);
    }

    [Fact]
    public async Task Messages_read_by_a_loop_left_without_acking_go_back_to_the_queue()
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, "m1");
        await PublishConfirmedAsync("", q, "m2");
        await using (var a = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            await foreach (var m in a.ConsumeAsync(q, new ConsumeOptions { Prefetch = 1 }, Ct))
            {
                break; // read, never settled
            }
        }

        await WaitForReadyAsync(q, 2);
    }

    [Fact]
    public async Task A_publish_to_a_missing_exchange_never_fails_the_next_renter()
    {
        var missing = NewExchange("missing");
        for (int i = 0; i < 20; i++)
        {
            await using (var a = await Conn.RentChannelAsync(cancellationToken: Ct))
            {
                // No confirms: the broker's 404 comes later, asynchronously, on this channel.
                await a.PublishAsync(missing, "k", Utf8("lost"), cancellationToken: Ct);
            }

            await using var b = await Conn.RentChannelAsync(cancellationToken: Ct);
            var ok = await b.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct);
            Assert.StartsWith("amq.gen-", ok.QueueName, StringComparison.Ordinal);
        }

        Assert.True(Conn.IsConnected);
    }

    [Fact]
    public async Task An_OnReturn_handler_never_reaches_the_next_renter()
    {
        var x = NewExchange("ret");
        await using (var setup = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await setup.ExchangeDeclareAsync(x, ExchangeType.Direct, cancellationToken: Ct);
        }

        int calls = 0;
        ushort first;
        await using (var a = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            first = a.ChannelNumber;
            a.OnReturn(_ => Interlocked.Increment(ref calls));
        }

        await using var b = await Conn.RentChannelAsync(cancellationToken: Ct);
        Assert.NotEqual(first, b.ChannelNumber);
        await b.PublishAsync(x, "nowhere", Utf8("returned"), mandatory: true, cancellationToken: Ct);
        await b.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct);
        Assert.Equal(0, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task A_confirm_channel_that_saw_a_nack_is_not_rented_again()
    {
        var full = await DeclareQueueAsync(new Dictionary<string, object?> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" }, "full");
        ushort nacking;
        await using (var a = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct))
        {
            nacking = a.ChannelNumber;
            await Assert.ThrowsAsync<AmqpPublishNackedException>(() => a.PublishAsync("", full, Utf8("nacked"), cancellationToken: Ct).AsTask());
        }

        await using var b = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        Assert.NotEqual(nacking, b.ChannelNumber);
    }

    [Fact]
    public async Task A_clean_channel_is_still_reused()
    {
        var q = await DeclareQueueAsync();
        ushort number;
        await using (var a = await Conn.RentChannelAsync(cancellationToken: Ct))
        {
            number = a.ChannelNumber;
            await a.PublishAsync("", q, Utf8("x"), cancellationToken: Ct);
            var got = await a.GetAsync(q, cancellationToken: Ct);
            await got!.Value.AckAsync(cancellationToken: Ct);
        }

        await using var b = await Conn.RentChannelAsync(cancellationToken: Ct);
        Assert.Equal(number, b.ChannelNumber);
    }
}
