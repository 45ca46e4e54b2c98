using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes.Tests.Unit.Consumers;

/// <summary>The inbox's overflow: order across segments, emptied segments reused by the next burst, and let go when trimmed.</summary>
public sealed class OverflowQueueTests
{
    [Fact]
    public void Keeps_order_across_many_segments_while_reading_and_writing_alternate()
    {
        var queue = new OverflowQueue();
        var deliveries = Enumerable.Range(0, 5000).Select(i => new Delivery(null) { DeliveryTag = (ulong)i }).ToArray();
        int written = 0, read = 0;
        var random = new Random(7);
        while (read < deliveries.Length)
        {
            int writes = Math.Min(random.Next(0, 1500), deliveries.Length - written);
            for (int i = 0; i < writes; i++)
            {
                queue.Enqueue(deliveries[written++]);
            }

            int reads = Math.Min(random.Next(0, 1500), written - read);
            for (int i = 0; i < reads; i++)
            {
                Assert.Equal((ulong)read++, queue.Dequeue().DeliveryTag);
            }
        }
    }

    [Fact]
    public void A_later_burst_of_the_same_size_reuses_the_segments_of_the_earlier_ones()
    {
        var inbox = new DeliveryInbox(capacity: 4, overflowByteLimit: long.MaxValue);
        var deliveries = Enumerable.Range(0, 10_000).Select(i => new Delivery(null) { DeliveryTag = (ulong)i }).ToArray();
        // Two bursts: the second starts where the first ended, part way into a segment, and may need one more.
        Burst(inbox, deliveries);
        Burst(inbox, deliveries);
        Assert.True(inbox.OverflowSpareSegments >= 9);

        long before = GC.GetAllocatedBytesForCurrentThread();
        Burst(inbox, deliveries);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Trimming_lets_go_of_the_spare_segments()
    {
        var inbox = new DeliveryInbox(capacity: 4, overflowByteLimit: long.MaxValue);
        Burst(inbox, Enumerable.Range(0, 5000).Select(i => new Delivery(null) { DeliveryTag = (ulong)i }).ToArray());
        Assert.NotEqual(0, inbox.OverflowSpareSegments);
        inbox.TrimOverflow();
        Assert.Equal(0, inbox.OverflowSpareSegments);

        // It still works after the trim.
        Burst(inbox, Enumerable.Range(0, 3000).Select(i => new Delivery(null) { DeliveryTag = (ulong)i }).ToArray());
    }

    // Writes every delivery (the ring fills, the rest overflows), then reads them all back in order.
    private static void Burst(DeliveryInbox inbox, Delivery[] deliveries)
    {
        foreach (var d in deliveries)
        {
            Assert.True(inbox.TryWrite(d));
        }

        for (int i = 0; i < deliveries.Length; i++)
        {
            Assert.True(inbox.TryRead(out var d));
            Assert.Same(deliveries[i], d);
        }

        Assert.False(inbox.TryRead(out _));
    }
}
