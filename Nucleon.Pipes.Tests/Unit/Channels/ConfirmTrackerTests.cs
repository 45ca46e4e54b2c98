using System.IO.Pipelines;
using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Tests.Unit.Channels;

/// <summary>Publisher-confirm bookkeeping, driven directly (the broker's acks are simulated).</summary>
public sealed class ConfirmTrackerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static OutboundQueue NewQueue() =>
        new OutboundWriter(new Pipe().Writer, 64, TimeProvider.System).CreateQueue(1, 1 << 16);

    private static OutboundCommand Command() => new(OutboundCommand.Rent(8), 8);

    [Fact]
    public async Task A_slow_confirm_survives_many_later_out_of_order_confirms()
    {
        // Window 4: one publish waits (as a persistent message waits for fsync) while 4x the window of
        // later publishes are confirmed one by one. Indexing by seq & mask used to overwrite the first.
        var tracker = new ConfirmTracker(4);
        var queue = NewQueue();
        var slow = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
        for (ulong seq = 2; seq <= 17; seq++)
        {
            var fast = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
            tracker.Confirm(seq, multiple: false, ack: true);
            await fast.WaitAsync(Timeout);
        }

        Assert.False(slow.IsCompleted);
        Assert.Equal(1, tracker.Outstanding);
        tracker.Confirm(1, multiple: false, ack: true);
        await slow.WaitAsync(Timeout);
        Assert.Equal(0, tracker.Outstanding);
    }

    [Fact]
    public async Task A_pending_publish_fails_when_the_channel_ends_even_after_out_of_order_confirms()
    {
        var tracker = new ConfirmTracker(2);
        var queue = NewQueue();
        var slow = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
        for (ulong seq = 2; seq <= 9; seq++)
        {
            var fast = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
            tracker.Confirm(seq, multiple: false, ack: true);
            await fast.WaitAsync(Timeout);
        }

        var lost = new AmqpConnectionLostException("gone");
        tracker.FailAll(lost);
        Assert.Same(lost, await Assert.ThrowsAsync<AmqpConnectionLostException>(() => slow.WaitAsync(Timeout)));
    }

    [Fact]
    public async Task Multiple_confirms_cover_exactly_the_lower_tags_and_nacks_fail_them()
    {
        var tracker = new ConfirmTracker(16);
        var queue = NewQueue();
        var tasks = Enumerable.Range(0, 6).Select(_ => tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask()).ToArray();
        tracker.Confirm(2, multiple: false, ack: true);
        tracker.Confirm(4, multiple: true, ack: false);
        await tasks[1].WaitAsync(Timeout);
        foreach (int i in new[] { 0, 2, 3 })
        {
            var nack = await Assert.ThrowsAsync<AmqpPublishNackedException>(() => tasks[i].WaitAsync(Timeout));
            Assert.Equal((ulong)i + 1, nack.SequenceNumber);
        }

        Assert.False(tasks[4].IsCompleted);
        tracker.Confirm(6, multiple: true, ack: true);
        await Task.WhenAll(tasks[4], tasks[5]).WaitAsync(Timeout);
        Assert.Equal(0, tracker.Outstanding);
    }

    [Fact]
    public async Task A_multiple_ack_larger_than_the_readers_batch_settles_every_publish_it_covers_and_no_other()
    {
        // The reader takes a multiple ack's publishes out of the window in batches (64 at a time) and completes each batch
        // outside the lock: an ack covering several batches, ending mid-batch, must settle exactly the tags up to it.
        var tracker = new ConfirmTracker(1000);
        var queue = NewQueue();
        var tasks = Enumerable.Range(0, 300).Select(_ => tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask()).ToArray();

        Assert.Equal(200, tracker.Confirm(200, multiple: true, ack: true));
        await Task.WhenAll(tasks[..200]).WaitAsync(Timeout);
        Assert.All(tasks[200..], t => Assert.False(t.IsCompleted));
        Assert.Equal(100, tracker.Outstanding);

        Assert.Equal(0, tracker.Confirm(150, multiple: true, ack: true)); // already settled: nothing happens twice
        Assert.Equal(99, tracker.Confirm(299, multiple: true, ack: false));
        foreach (var t in tasks[200..299])
        {
            await Assert.ThrowsAsync<AmqpPublishNackedException>(() => t.WaitAsync(Timeout));
        }

        Assert.False(tasks[299].IsCompleted);
        Assert.Equal(1, tracker.Confirm(300, multiple: true, ack: true));
        await tasks[299].WaitAsync(Timeout);
        Assert.Equal(0, tracker.Outstanding);
    }

    [Fact]
    public async Task Cancelling_the_wait_for_a_confirm_ends_the_call_and_a_late_confirm_touches_nobody_else()
    {
        var tracker = new ConfirmTracker(4);
        var queue = NewQueue();
        using var cts = new CancellationTokenSource();
        var first = tracker.PublishAsync(queue, Command(), cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.WaitAsync(Timeout));
        // The broker still counts it: it holds its window slot until confirmed.
        Assert.Equal(1, tracker.Outstanding);

        var second = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
        tracker.Confirm(1, multiple: false, ack: true); // the late confirm of the cancelled publish
        Assert.False(second.IsCompleted);
        tracker.Confirm(2, multiple: false, ack: false);
        await Assert.ThrowsAsync<AmqpPublishNackedException>(() => second.WaitAsync(Timeout));
        Assert.Equal(0, tracker.Outstanding);
    }

    [Fact]
    public async Task Cancellation_racing_confirms_never_completes_a_reused_publish()
    {
        var tracker = new ConfirmTracker(8);
        var queue = NewQueue();
        for (int round = 0; round < 2_000; round++)
        {
            using var cts = new CancellationTokenSource();
            ulong seq = tracker.NextSequenceNumber;
            var victim = tracker.PublishAsync(queue, Command(), cts.Token).AsTask();
            var cancel = Task.Run(cts.Cancel);
            tracker.Confirm(seq, multiple: false, ack: true);
            await cancel;
            try
            {
                await victim.WaitAsync(Timeout);
            }
            catch (OperationCanceledException)
            {
            }

            // The next publish reuses the pooled entry: only its own confirm may complete it.
            var next = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
            Assert.False(next.IsCompleted);
            tracker.Confirm(seq + 1, multiple: false, ack: true);
            await next.WaitAsync(Timeout);
        }

        Assert.Equal(0, tracker.Outstanding);
    }

    [Fact]
    public async Task A_full_window_parks_publishers_until_a_confirm_and_a_cancelled_one_leaves_the_rest_waiting()
    {
        var tracker = new ConfirmTracker(2);
        var queue = NewQueue();
        var first = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
        var second = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
        using var cancel = new CancellationTokenSource();
        var cancelled = tracker.PublishAsync(queue, Command(), cancel.Token).AsTask();
        var parked = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
        Assert.False(cancelled.IsCompleted);
        Assert.False(parked.IsCompleted);
        Assert.Equal(2, tracker.Outstanding);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Timeout));
        Assert.Equal(2, tracker.Outstanding); // the cancelled one never took a slot
        Assert.False(parked.IsCompleted);

        tracker.Confirm(1, multiple: false, ack: true);
        await first.WaitAsync(Timeout);
        // The parked publisher takes the freed slot: sequence 3.
        var deadline = DateTime.UtcNow + Timeout;
        while (tracker.NextSequenceNumber != 4)
        {
            Assert.True(DateTime.UtcNow < deadline, "the parked publisher never took the freed slot");
            await Task.Delay(1);
        }

        tracker.Confirm(3, multiple: true, ack: true);
        await Task.WhenAll(second, parked).WaitAsync(Timeout);
        Assert.Equal(0, tracker.Outstanding);
    }

    [Fact]
    public async Task Failing_the_tracker_wakes_parked_publishers_with_the_failure()
    {
        var tracker = new ConfirmTracker(1);
        var queue = NewQueue();
        var first = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
        var parked = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();
        Assert.False(parked.IsCompleted);
        var lost = new AmqpConnectionLostException("gone");
        tracker.FailAll(lost);
        Assert.Same(lost, await Assert.ThrowsAsync<AmqpConnectionLostException>(() => first.WaitAsync(Timeout)));
        Assert.Same(lost, await Assert.ThrowsAsync<AmqpConnectionLostException>(() => parked.WaitAsync(Timeout)));
        await Assert.ThrowsAsync<AmqpConnectionLostException>(() => tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task A_return_belongs_to_the_mandatory_publish_it_names_even_when_an_earlier_ack_comes_between()
    {
        // RabbitMQ sends basic.return for publish 2 at once, but the ack of publish 1 (waiting for its queue)
        // may come after it: the return must not go to whichever confirm comes next.
        var tracker = new ConfirmTracker(16);
        var queue = NewQueue();
        var routed = tracker.PublishAsync(queue, Command(), new MandatoryPublish("", "orders", new BasicProperties { MessageId = "a" }), CancellationToken.None).AsTask();
        var unroutable = tracker.PublishAsync(queue, Command(), new MandatoryPublish("", "nowhere", new BasicProperties { MessageId = "b" }), CancellationToken.None).AsTask();
        var plain = tracker.PublishAsync(queue, Command(), CancellationToken.None).AsTask();

        tracker.Returned(new AmqpMessageReturnedException(312, "NO_ROUTE", "", "nowhere", new BasicProperties { MessageId = "b" }));
        tracker.Confirm(1, multiple: false, ack: true);
        await routed.WaitAsync(Timeout);
        tracker.Confirm(3, multiple: true, ack: true);

        var returned = await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => unroutable.WaitAsync(Timeout));
        Assert.Equal(2ul, returned.SequenceNumber);
        Assert.Equal("b", returned.Properties.MessageId);
        await plain.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Returns_of_identical_looking_publishes_are_told_apart_by_their_ids_then_by_age()
    {
        var tracker = new ConfirmTracker(16);
        var queue = NewQueue();
        var first = tracker.PublishAsync(queue, Command(), new MandatoryPublish("x", "k", new BasicProperties { MessageId = "1" }), CancellationToken.None).AsTask();
        var second = tracker.PublishAsync(queue, Command(), new MandatoryPublish("x", "k", new BasicProperties { MessageId = "2" }), CancellationToken.None).AsTask();
        var third = tracker.PublishAsync(queue, Command(), new MandatoryPublish("x", "k", null), CancellationToken.None).AsTask();
        var fourth = tracker.PublishAsync(queue, Command(), new MandatoryPublish("x", "k", null), CancellationToken.None).AsTask();

        tracker.Returned(new AmqpMessageReturnedException(312, "NO_ROUTE", "x", "k", new BasicProperties { MessageId = "2" }));
        tracker.Returned(new AmqpMessageReturnedException(312, "NO_ROUTE", "x", "k", BasicProperties.Empty));
        tracker.Confirm(4, multiple: true, ack: true);

        await first.WaitAsync(Timeout);
        Assert.Equal(2ul, (await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => second.WaitAsync(Timeout))).SequenceNumber);
        Assert.Equal(3ul, (await Assert.ThrowsAsync<AmqpMessageReturnedException>(() => third.WaitAsync(Timeout))).SequenceNumber);
        await fourth.WaitAsync(Timeout);
    }
}
