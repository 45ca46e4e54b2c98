using Nucleon.Pipes.Consumers;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>
/// Consumers that stall, and consumers cancelled while they subscribe or while their loop runs. The
/// connection's reader serves every channel and the heartbeat, so none of this may stop it.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class SlowConsumerTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    /// <summary>Every body is "m" and five digits, so the overflow's byte budget holds a known number of messages.</summary>
    private const int BodySize = 6;

    private async Task PublishManyAsync(string queue, int count)
    {
        await using var ch = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        var pending = new List<Task>(count);
        for (int i = 0; i < count; i++)
        {
            pending.Add(ch.PublishAsync("", queue, Utf8($"m{i:D5}"), cancellationToken: Ct).AsTask());
        }

        await Task.WhenAll(pending).WaitAsync(Ct);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_stalled_consumer_without_prefetch_is_cancelled_alone_and_the_connection_stays_healthy(bool autoAck)
    {
        const int published = 2_000;
        using var log = new RecordingLoggerProvider();
        var conn = await ConnectAsync("heartbeat=1", log.CreateFactory());
        int lost = 0;
        conn.ConnectionLost += (_, _) => Interlocked.Increment(ref lost);
        int generation = conn.Generation;
        var q = await DeclareQueueAsync();
        await PublishManyAsync(q, published);

        await using var slowCh = await conn.AllocateChannelAsync(cancellationToken: Ct);
        var options = new ConsumeOptions { AutoAck = autoAck, Prefetch = 0, InboxCapacity = 8, MaxOverflowBytes = 16 * 8 * (BodySize + DeliveryInbox.MessageOverhead) };
        await using var loop = slowCh.ConsumeAsync(q, options, Ct).GetAsyncEnumerator(Ct);
        Assert.True(await loop.MoveNextAsync()); // subscribed; now the loop stalls with the rest arriving

        // Another channel on the same connection keeps getting answers, for longer than two heartbeats.
        await using var other = await conn.AllocateChannelAsync(cancellationToken: Ct);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (DateTime.UtcNow < until)
        {
            await other.QueueDeclareAsync(q, passive: true, cancellationToken: Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
            await Task.Delay(100, Ct);
        }

        // The loop gets what it received, then the overflow error.
        int received = 1;
        var error = await Assert.ThrowsAsync<AmqpConsumerOverflowException>(async () =>
        {
            while (await loop.MoveNextAsync())
            {
                received++;
            }
        }).WaitAsync(Ct);
        Assert.Equal(autoAck, error.AutoAck);
        Assert.Equal(16 * 8 * (BodySize + DeliveryInbox.MessageOverhead), error.MaxOverflowBytes);
        // A full overflow and the inbox, less the one message the loop read if it read it after the overflow began.
        Assert.InRange(error.Waiting, 8 + 16 * 8 - 1, 8 + 16 * 8);
        Assert.True(received <= error.Waiting + 1, $"received {received}");
        Assert.Equal(generation, conn.Generation);
        Assert.Equal(0, Volatile.Read(ref lost));
        Assert.True(slowCh.IsOpen, $"the consumer's channel closed: {slowCh.CloseReason}");
        var overflowed = Assert.Single(log.Events(LogEvents.Overflowed));
        Assert.Equal(q, overflowed["Queue"]);
        Assert.Equal(error.Waiting, overflowed["Buffered"]);

        var state = await other.QueueDeclareAsync(q, passive: true, cancellationToken: Ct);
        Assert.Equal(0u, state.ConsumerCount);
        if (!autoAck)
        {
            // Nothing was acked: every message not read is back in the queue, the read ones return when the channel closes.
            await slowCh.CloseAsync(Ct);
            Assert.Equal((uint)published, await ReadyCountAsync(q, conn));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Cancelling_a_subscription_at_random_moments_leaves_no_consumer_on_the_broker(bool autoAck)
    {
        const int published = 200;
        var q = await DeclareQueueAsync();
        await PublishManyAsync(q, published);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var rng = new Random(autoAck ? 3 : 5);
        int cancelled = 0;
        for (int i = 0; i < 100; i++)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var delay = rng.Next(0, 3);
            _ = Task.Run(async () =>
            {
                await Task.Delay(delay);
                try
                {
                    cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // This round already ended.
                }
            });
            var options = new ConsumeOptions { AutoAck = autoAck, Prefetch = 1 };
            try
            {
                await using var loop = ch.ConsumeAsync(q, options, cts.Token).GetAsyncEnumerator(cts.Token);
                await loop.MoveNextAsync();
                // Subscribed in time: leave without settling (manual ack: the message goes back).
            }
            catch (OperationCanceledException)
            {
                cancelled++;
            }
        }

        Assert.True(cancelled > 10, $"only {cancelled} subscriptions were cancelled: the test did not test much");
        // Abandoned subscriptions are cancelled once the broker confirmed them; wait for that.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        uint consumers;
        while ((consumers = (await ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct)).ConsumerCount) != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{consumers} orphan consumers remain on the queue");
            await Task.Delay(50, Ct);
        }

        Assert.True(ch.IsOpen, $"channel closed (a reject of an auto-acked tag is a 406): {ch.CloseReason}");
        if (!autoAck)
        {
            await ch.CloseAsync(Ct);
            Assert.Equal((uint)published, await ReadyCountAsync(q));
        }
    }

    [Fact]
    public async Task Cancelling_a_raw_consumer_while_its_loop_runs_loses_nothing()
    {
        const int published = 500;
        var q = await DeclareQueueAsync();
        await PublishManyAsync(q, published);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var consumer = await ch.BasicConsumeAsync(q, new ConsumeOptions { Prefetch = 50 }, Ct);
        int acked = 0;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = Task.Run(async () =>
        {
            await foreach (var m in consumer.Messages.WithCancellation(Ct))
            {
                await m.AckAsync(cancellationToken: Ct);
                if (Interlocked.Increment(ref acked) == 20)
                {
                    started.TrySetResult();
                }
            }
        });
        await started.Task.WaitAsync(Ct);
        await consumer.CancelAsync().WaitAsync(Ct);
        await loop.WaitAsync(Ct); // the loop reads what it had received, then ends without an error
        Assert.True(ch.IsOpen);
        // The rejects of the handed-back messages go out on ch, the count is read on another channel:
        // the broker does not order the two, so wait for the count to settle.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        uint ready;
        while ((ready = await ReadyCountAsync(q)) != (uint)(published - acked))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{ready} messages ready; expected {published - acked} ({acked} acked)");
            await Task.Delay(50, Ct);
        }
    }
}
