using System.Collections.Concurrent;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>
/// How long a consumer's message stays valid: a manual-ack message until it is settled (on any thread,
/// while the loop moves on), an auto-ack one until the loop moves on.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class MessageLifetimeTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    private async Task<string> QueueWithAsync(int count)
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        for (int i = 0; i < count; i++)
        {
            await ch.PublishAsync("", q, Utf8($"m{i}"), cancellationToken: Ct);
        }

        return q;
    }

    [Fact]
    public async Task A_manual_ack_message_keeps_its_body_while_the_loop_moves_on_until_it_is_settled()
    {
        var q = await QueueWithAsync(5);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var held = new List<(Message Message, ReadOnlyMemory<byte> Body)>();
        await foreach (var m in ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 5 }, Ct))
        {
            held.Add((m, m.Body));
            if (held.Count == 5)
            {
                break;
            }
        }

        for (int i = 0; i < held.Count; i++)
        {
            var (message, body) = held[i];
            Assert.True(message.IsValid);
            Assert.True(message.CanSettle);
            Assert.Equal($"m{i}", Text(message));
            Assert.Equal($"m{i}", System.Text.Encoding.UTF8.GetString(body.Span));
            await message.AckAsync(cancellationToken: Ct);
            Assert.False(message.IsValid);
            Assert.False(message.CanSettle);
            Assert.Throws<InvalidOperationException>(() => message.Body);
        }

        await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct); // a round trip: no 406 came
        Assert.True(ch.IsOpen, $"channel closed: {ch.CloseReason}");
        Assert.Equal(0u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Messages_covered_by_a_multiple_ack_are_released_when_the_loop_moves_on()
    {
        var q = await QueueWithAsync(6);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await using var stream = ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 10 }).GetAsyncEnumerator(Ct);
        var held = new List<Message>();
        for (int i = 0; i < 5; i++)
        {
            Assert.True(await stream.MoveNextAsync());
            held.Add(stream.Current);
        }

        await held[3].AckAsync(multiple: true, cancellationToken: Ct);
        Assert.False(held[3].IsValid);
        Assert.True(held[0].IsValid); // settled by the broker's reckoning, released on the loop's next step
        Assert.False(held[0].CanSettle);
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal("m5", Text(stream.Current));
        Assert.All(held.Take(3), m => Assert.False(m.IsValid));
        Assert.True(held[4].IsValid); // not covered: still the application's
        Assert.Equal("m4", Text(held[4]));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await held[1].AckAsync(cancellationToken: Ct));
        await held[4].AckAsync(cancellationToken: Ct);
        await stream.Current.AckAsync(cancellationToken: Ct);
        await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct); // a round trip: no 406 came
        Assert.True(ch.IsOpen, $"channel closed: {ch.CloseReason}");
    }

    [Fact]
    public async Task An_auto_ack_message_is_recycled_when_the_loop_moves_on()
    {
        var q = await QueueWithAsync(2);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        Message first = default;
        int seen = 0;
        await foreach (var m in ch.ConsumeAsync(q, new ConsumeOptions { AutoAck = true }, Ct))
        {
            if (++seen == 1)
            {
                first = m;
                Assert.False(m.CanSettle);
                continue;
            }

            Assert.False(first.IsValid);
            Assert.Throws<InvalidOperationException>(() => first.Body);
            Assert.Equal("m1", Text(m));
            break;
        }
    }

    [Fact]
    public async Task Parallel_ForEachAsync_over_a_manual_ack_stream_handles_every_message_once_on_other_threads()
    {
        const int count = 60;
        var q = await QueueWithAsync(count);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var handled = new ConcurrentDictionary<string, int>();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = done.Token };
        var run = Parallel.ForEachAsync(ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 16 }), parallel, async (m, _) =>
        {
            string before = Text(m);
            await Task.Delay(5, Ct); // the loop moves on meanwhile
            Assert.Equal(before, Text(m));
            handled.AddOrUpdate(before, 1, (_, n) => n + 1);
            await m.AckAsync(cancellationToken: Ct);
            if (handled.Count == count)
            {
                done.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.False(Ct.IsCancellationRequested, "the test's own budget ran out");
        Assert.Equal(count, handled.Count);
        Assert.All(handled, kv => Assert.Equal(1, kv.Value));
        Assert.Equal(0u, await ReadyCountAsync(q));
        Assert.True(ch.IsOpen, $"channel closed: {ch.CloseReason}");
    }

    [Fact]
    public async Task Stream_Current_keeps_its_message_after_that_message_was_settled_and_its_delivery_reused()
    {
        var q = await QueueWithAsync(3);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await using var stream = ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 3 }).GetAsyncEnumerator(Ct);
        Assert.True(await stream.MoveNextAsync());
        var first = stream.Current;
        await first.AckAsync(cancellationToken: Ct);
        // The settled delivery is back in the pool: Current must not come to show another message.
        Assert.False(stream.Current.IsValid);
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal("m1", Text(stream.Current));
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal("m2", Text(stream.Current));
    }
}
