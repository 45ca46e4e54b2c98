using System.Globalization;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

[Collection(BrokerCollection.Name)]
public sealed class ConcurrencyAndFlowControlTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Fact]
    public async Task Hundred_channels_publishing_concurrently_deliver_every_message_exactly_once()
    {
        const int channels = 100;
        const int perChannel = 100;
        const int total = channels * perChannel;
        var q = await DeclareQueueAsync();

        // The consumer runs on its own channel while the publishers work.
        await using var consumerChannel = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var duplicates = new List<string>();
        var consumed = Task.Run(async () =>
        {
            await foreach (var m in consumerChannel.ConsumeAsync(q, new ConsumeOptions { Prefetch = 500 }, Ct))
            {
                var id = m.Properties.MessageId!;
                Assert.Equal(id, Text(m)); // body and property belong together
                if (!ids.Add(id))
                {
                    duplicates.Add(id);
                }

                await m.AckAsync(cancellationToken: Ct);
                if (ids.Count == total)
                {
                    break;
                }
            }
        }, Ct);

        var publishers = await Task.WhenAll(Enumerable.Range(0, channels)
            .Select(_ => Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct)));
        Assert.Equal(channels, publishers.Select(p => p.ChannelNumber).Distinct().Count());

        await Task.WhenAll(publishers.Select((ch, c) => Task.Run(async () =>
        {
            var confirms = new List<Task>(perChannel);
            for (var i = 0; i < perChannel; i++)
            {
                var id = string.Create(CultureInfo.InvariantCulture, $"{c}-{i}");
                confirms.Add(ch.PublishAsync("", q, Utf8(id), new BasicProperties { MessageId = id }, cancellationToken: Ct).AsTask());
            }

            await Task.WhenAll(confirms);
        }, Ct))).WaitAsync(Ct);

        await consumed.WaitAsync(Ct);
        Assert.Empty(duplicates);
        Assert.Equal(total, ids.Count);
        for (var c = 0; c < channels; c++)
        {
            for (var i = 0; i < perChannel; i++)
            {
                Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{c}-{i}"), ids);
            }
        }

        var left = await consumerChannel.QueueDeclareAsync(q, passive: true, cancellationToken: Ct);
        Assert.Equal(0u, left.MessageCount);
        Assert.Equal(0u, left.ConsumerCount);
        foreach (var p in publishers)
        {
            Assert.True(p.IsOpen);
            await p.DisposeAsync();
        }
    }

    [Fact]
    public async Task Prefetch_is_honoured_and_each_ack_lets_exactly_one_more_through()
    {
        var q = await DeclareQueueAsync();
        for (var i = 0; i < 20; i++)
        {
            await PublishConfirmedAsync("", q, $"m{i}");
        }

        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var e = ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 5 }).GetAsyncEnumerator(stop.Token);
        var tags = new List<ulong>();
        for (var i = 0; i < 5; i++)
        {
            Assert.True(await e.MoveNextAsync().AsTask().WaitAsync(Ct));
            Assert.Equal($"m{i}", Text(e.Current));
            tags.Add(e.Current.DeliveryTag); // not acked
        }

        // A sixth delivery must not come while five are unacked...
        var sixth = e.MoveNextAsync().AsTask();
        await AssertStaysPendingAsync(sixth, "a sixth delivery with prefetch 5 and nothing acked");
        // ...and the broker confirms it kept the rest: 15 ready (5 unacked are not counted).
        Assert.Equal(15u, await ReadyCountAsync(q));

        await ch.BasicAckAsync(tags[0], cancellationToken: Ct);
        Assert.True(await sixth.WaitAsync(Ct));
        Assert.Equal("m5", Text(e.Current));
        tags.Add(e.Current.DeliveryTag);

        var seventh = e.MoveNextAsync().AsTask();
        await AssertStaysPendingAsync(seventh, "a seventh delivery after a single ack");
        Assert.Equal(14u, await ReadyCountAsync(q));

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => seventh.WaitAsync(Ct));
        await e.DisposeAsync();

        // Leaving the loop cancelled the consumer: its unacked deliveries return to the queue once the
        // channel closes; the acked one is gone for good.
        await ch.CloseAsync(Ct);
        Assert.Equal(19u, await ReadyCountAsync(q));
    }
}
