using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes.Tests.Unit.Consumers;

/// <summary>The lock-free single-producer single-consumer inbox between the connection's reader and a consume loop.</summary>
public sealed class DeliveryInboxTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static Delivery NewDelivery(ulong tag) => new(null) { DeliveryTag = tag };

    // The consume loop's side: reads until the inbox is completed, checking that tags come 0, 1, 2, ...; returns how many.
    private static async Task<ulong> ReadInOrderAsync(DeliveryInbox inbox)
    {
        ulong next = 0;
        while (true)
        {
            while (inbox.TryRead(out var d))
            {
                Assert.Equal(next, d.DeliveryTag);
                next++;
            }

            if (!await inbox.WaitToReadAsync(CancellationToken.None))
            {
                return next;
            }
        }
    }

    [Fact]
    public void Holds_at_most_its_capacity_and_reads_in_order()
    {
        var inbox = new DeliveryInbox(3);
        Assert.True(inbox.TryWrite(NewDelivery(1)));
        Assert.True(inbox.TryWrite(NewDelivery(2)));
        Assert.True(inbox.TryWrite(NewDelivery(3)));
        Assert.False(inbox.TryWrite(NewDelivery(4)));
        Assert.True(inbox.TryRead(out var d1));
        Assert.Equal(1ul, d1.DeliveryTag);
        Assert.True(inbox.TryWrite(NewDelivery(4)));
        for (ulong expected = 2; expected <= 4; expected++)
        {
            Assert.True(inbox.TryRead(out var d));
            Assert.Equal(expected, d.DeliveryTag);
        }

        Assert.False(inbox.TryRead(out _));
    }

    [Fact]
    public async Task Producer_and_consumer_on_two_threads_lose_nothing_and_keep_order_through_the_overflow()
    {
        const int count = 200_000;
        var inbox = new DeliveryInbox(8, overflowByteLimit: 24 * DeliveryInbox.MessageOverhead);
        int overflowSeen = 0;
        var producer = Task.Run(async () =>
        {
            for (int i = 0; i < count; i++)
            {
                var d = NewDelivery((ulong)i); // the tag carries the sequence number
                while (!inbox.TryWrite(d))
                {
                    // Ring and overflow are full (the reader would cancel this consumer); here: retry.
                    Assert.False(inbox.IsCompleted);
                    await Task.Yield();
                }

                overflowSeen = Math.Max(overflowSeen, inbox.OverflowCount);
            }

            inbox.Complete();
        });
        var consumer = Task.Run(() => ReadInOrderAsync(inbox));

        await producer.WaitAsync(Timeout);
        Assert.Equal((ulong)count, await consumer.WaitAsync(Timeout));
        Assert.Null(inbox.Error);
        Assert.True(overflowSeen > 0, "the overflow was never used: the test did not test it");
    }

    [Fact]
    public void A_ring_filled_after_the_reader_found_it_empty_is_read_before_the_overflow_that_followed()
    {
        // The reader finds the ring empty and is preempted before it looks at the overflow; meanwhile the writer fills
        // the ring and starts the overflow. Read the overflow first and the ring's deliveries come a lap late
        // (a stress run saw tag 40,750 where 40,686 was due: one 64-slot lap).
        var inbox = new DeliveryInbox(4, overflowByteLimit: 16 * DeliveryInbox.MessageOverhead);
        ulong written = 0;
        inbox.AfterRingFoundEmpty = () =>
        {
            inbox.AfterRingFoundEmpty = null;
            for (int i = 0; i < 6; i++)
            {
                Assert.True(inbox.TryAppend(NewDelivery(written++)));
            }

            Assert.Equal(2, inbox.OverflowCount);
        };

        for (ulong expected = 0; expected < 6; expected++)
        {
            Assert.True(inbox.TryRead(out var d));
            Assert.Equal(expected, d.DeliveryTag);
        }

        Assert.False(inbox.TryRead(out _));
    }

    [Fact]
    public async Task Appends_woken_once_per_batch_lose_no_wake_up_and_no_delivery()
    {
        // As the connection's reader does: append a batch of random size without waking, then wake once.
        // A lost wake-up leaves the reader parked with deliveries in the inbox, and the test times out.
        const int count = 200_000;
        var inbox = new DeliveryInbox(64, overflowByteLimit: 64 * DeliveryInbox.MessageOverhead);
        var producer = Task.Run(async () =>
        {
            var random = new Random(42);
            int i = 0;
            while (i < count)
            {
                int batch = random.Next(1, 100);
                for (int b = 0; b < batch && i < count; b++)
                {
                    var d = NewDelivery((ulong)i);
                    while (!inbox.TryAppend(d))
                    {
                        inbox.WakeReader();
                        await Task.Yield();
                    }

                    i++;
                }

                inbox.WakeReader();
                if (random.Next(8) == 0)
                {
                    await Task.Yield(); // lets the reader drain and park
                }
            }

            inbox.Complete();
        });
        var consumer = Task.Run(() => ReadInOrderAsync(inbox));

        await producer.WaitAsync(Timeout);
        Assert.Equal((ulong)count, await consumer.WaitAsync(Timeout));
    }

    [Fact]
    public void The_overflow_is_bounded_by_bytes_so_large_messages_fill_it_sooner()
    {
        const int body = 10_000;
        var inbox = new DeliveryInbox(1, overflowByteLimit: 2 * (body + DeliveryInbox.MessageOverhead));
        Delivery Large(ulong tag)
        {
            var d = NewDelivery(tag);
            d.StartBody(body);
            return d;
        }

        Assert.True(inbox.TryWrite(Large(1))); // the ring
        Assert.True(inbox.TryWrite(Large(2))); // the overflow, 1 of 2
        Assert.True(inbox.TryWrite(Large(3))); // 2 of 2
        Assert.False(inbox.TryWrite(Large(4)));
        Assert.False(inbox.TryWrite(NewDelivery(4))); // an empty body still costs its overhead, and the budget is spent
        Assert.Equal(3, inbox.Count);

        Assert.True(inbox.TryRead(out _));
        Assert.True(inbox.TryRead(out _)); // frees one large message's budget in the overflow
        Assert.True(inbox.TryWrite(Large(4)));
        Assert.False(inbox.TryWrite(Large(5)));
        Assert.Equal(2, inbox.Count);
    }

    [Fact]
    public async Task Completion_with_an_error_wakes_a_waiting_reader_after_the_last_delivery()
    {
        var inbox = new DeliveryInbox(4);
        var wait = inbox.WaitToReadAsync(CancellationToken.None).AsTask();
        Assert.False(wait.IsCompleted);
        Assert.True(inbox.TryWrite(NewDelivery(7)));
        Assert.True(await wait.WaitAsync(Timeout));
        var reason = new AmqpConnectionLostException("test: gone");
        inbox.Complete(reason);
        inbox.Complete(new InvalidOperationException("a second completion is ignored"));
        Assert.False(inbox.TryWrite(NewDelivery(8)));
        Assert.True(inbox.TryRead(out var last));
        Assert.Equal(7ul, last.DeliveryTag);
        Assert.False(await inbox.WaitToReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        Assert.Same(reason, inbox.Error);
    }

    [Fact]
    public async Task Past_the_ring_the_overflow_keeps_order_and_past_both_the_writer_is_refused_without_waiting()
    {
        var inbox = new DeliveryInbox(2, overflowByteLimit: 3 * DeliveryInbox.MessageOverhead);
        for (ulong tag = 1; tag <= 5; tag++)
        {
            Assert.True(inbox.TryWrite(NewDelivery(tag)));
        }

        Assert.Equal(3, inbox.OverflowCount);
        Assert.False(inbox.TryWrite(NewDelivery(6)));

        // Reading one from the ring frees a ring slot, but a new delivery must queue behind the overflow.
        Assert.True(inbox.TryRead(out var first));
        Assert.Equal(1ul, first.DeliveryTag);
        Assert.False(inbox.TryWrite(NewDelivery(6)));
        Assert.True(inbox.TryRead(out var second));
        Assert.True(inbox.TryRead(out var third));
        Assert.Equal(2ul, second.DeliveryTag);
        Assert.Equal(3ul, third.DeliveryTag);
        Assert.True(inbox.TryWrite(NewDelivery(6)));
        for (ulong expected = 4; expected <= 6; expected++)
        {
            Assert.True(await inbox.WaitToReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
            Assert.True(inbox.TryRead(out var d));
            Assert.Equal(expected, d.DeliveryTag);
        }

        Assert.False(inbox.TryRead(out _));
        Assert.Equal(0, inbox.OverflowCount);
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_the_next_wait_still_works()
    {
        var inbox = new DeliveryInbox(2);
        using var cts = new CancellationTokenSource();
        var wait = inbox.WaitToReadAsync(cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Timeout));

        var again = inbox.WaitToReadAsync(CancellationToken.None).AsTask();
        Assert.False(again.IsCompleted);
        Assert.True(inbox.TryWrite(NewDelivery(3)));
        Assert.True(await again.WaitAsync(Timeout));
        Assert.True(inbox.TryRead(out var d));
        Assert.Equal(3ul, d.DeliveryTag);
    }

    [Fact]
    public async Task The_fast_path_allocates_nothing()
    {
        var inbox = new DeliveryInbox(1);
        var d = NewDelivery(1);
        // Warm up, then measure write / wait / read cycles on this thread.
        for (int i = 0; i < 100; i++)
        {
            Assert.True(inbox.TryWrite(d));
            Assert.True(await inbox.WaitToReadAsync(CancellationToken.None));
            Assert.True(inbox.TryRead(out _));
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            Assert.True(inbox.TryWrite(d));
            var ready = inbox.WaitToReadAsync(CancellationToken.None);
            Assert.True(ready.IsCompletedSuccessfully); // an item is there: no wait, no allocation
            Assert.True(await ready);
            Assert.True(inbox.TryRead(out _));
        }

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000, "the fast path allocated");
    }

    [Fact]
    public void A_woken_wait_continues_on_the_thread_pool_never_on_the_writers_thread_and_waking_allocates_nothing()
    {
        // The writer is the connection's reader: a consume loop must never run on it. The waiting side here is a
        // plain callback (as a consumer stream's reusable step is), not an async method.
        const int waits = 2_000;
        var inbox = new DeliveryInbox(4);
        var d = NewDelivery(1);
        var continued = new SemaphoreSlim(0);
        int onWriter = 0;
        int writerThread = 0;
        long allocated = -1;
        Action onWoken = () =>
        {
            if (Environment.CurrentManagedThreadId == Volatile.Read(ref writerThread))
            {
                Interlocked.Increment(ref onWriter);
            }

            continued.Release();
        };

        Exception? failure = null;
        var writer = new Thread(() =>
        {
            try
            {
                WriteAndWake();
            }
            catch (Exception ex)
            {
                failure = ex; // an exception escaping a thread would end the test run
            }
        });
        writer.Start();
        Assert.True(writer.Join(Timeout));

        Assert.Null(failure);
        Assert.Equal(0, onWriter);
        Assert.True(allocated is >= 0 and < 1_000, $"waking {waits / 2} waits allocated {allocated} B on the writer's thread");

        void WriteAndWake()
        {
            Volatile.Write(ref writerThread, Environment.CurrentManagedThreadId);
            long before = 0;
            for (int i = 0; i < waits; i++)
            {
                if (i == waits / 2)
                {
                    before = GC.GetAllocatedBytesForCurrentThread(); // the first half warms up
                }

                var wait = inbox.WaitToReadAsync(CancellationToken.None);
                Assert.False(wait.IsCompleted);
                wait.GetAwaiter().UnsafeOnCompleted(onWoken);
                Assert.True(inbox.TryWrite(d)); // wakes the wait
                Assert.True(continued.Wait(Timeout));
                Assert.True(wait.GetAwaiter().GetResult());
                Assert.True(inbox.TryRead(out _));
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
    }
}

