using Microsoft.Extensions.Time.Testing;
using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes.Tests.Unit.Consumers;

/// <summary>A consumer's delivery pool: its base size in steady state, what a burst makes it keep, and the cut back after calm.</summary>
public sealed class DeliveryPoolTests
{
    private const int Base = 8;

    [Fact]
    public void In_steady_state_it_keeps_its_base_size()
    {
        var pool = new DeliveryPool(null, Base, 1000, new FakeTimeProvider());
        var rented = RentMany(pool, Base + 10);
        RecycleAll(pool, rented);
        Assert.Equal(Base, pool.Count);
        Assert.Equal(Base, pool.Limit);
    }

    [Fact]
    public void After_a_burst_through_the_overflow_the_next_burst_of_that_size_allocates_nothing()
    {
        var pool = new DeliveryPool(null, Base, 10_000, new FakeTimeProvider());
        var burst = RentMany(pool, 1000);
        for (int waiting = 1; waiting <= 1000; waiting++)
        {
            pool.NoteOverflow(waiting);
        }

        RecycleAll(pool, burst);
        Assert.Equal(1000 + Base, pool.Limit);
        Assert.Equal(1000, pool.Count);

        var known = new HashSet<Delivery>(burst, ReferenceEqualityComparer.Instance);
        var again = new Delivery[1000];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < again.Length; i++)
        {
            again[i] = pool.Rent();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.All(again, d => Assert.Contains(d, known));
    }

    [Fact]
    public void What_a_burst_made_it_keep_is_bounded_by_its_maximum()
    {
        var pool = new DeliveryPool(null, Base, 100, new FakeTimeProvider());
        pool.NoteOverflow(5000);
        Assert.Equal(100, pool.Limit);
        RecycleAll(pool, RentMany(pool, 500));
        Assert.Equal(100, pool.Count);
    }

    [Fact]
    public void Once_the_overflow_stays_unused_for_a_calm_period_it_gives_the_burst_back()
    {
        var time = new FakeTimeProvider();
        var pool = new DeliveryPool(null, Base, 10_000, time);
        pool.NoteOverflow(500);
        RecycleAll(pool, RentMany(pool, 500));
        Assert.Equal(500, pool.Count);

        // The first tick sees the overflow used since the last look: it waits another period.
        time.Advance(DeliveryPool.CalmPeriod);
        Assert.Equal(500, pool.Count);

        time.Advance(DeliveryPool.CalmPeriod);
        Assert.Equal(Base, pool.Count);
        Assert.Equal(Base, pool.Limit);

        // Calm for good: the timer stopped, and recycling keeps only the base size again.
        RecycleAll(pool, RentMany(pool, 100));
        Assert.Equal(Base, pool.Count);
    }

    [Fact]
    public void A_burst_still_going_on_keeps_the_pool_large()
    {
        var time = new FakeTimeProvider();
        var pool = new DeliveryPool(null, Base, 10_000, time);
        pool.NoteOverflow(500);
        RecycleAll(pool, RentMany(pool, 500));
        for (int period = 0; period < 5; period++)
        {
            pool.NoteOverflow(10);
            time.Advance(DeliveryPool.CalmPeriod);
            Assert.Equal(500, pool.Count);
        }

        time.Advance(DeliveryPool.CalmPeriod);
        time.Advance(DeliveryPool.CalmPeriod);
        Assert.Equal(Base, pool.Count);

        // The next burst raises it again.
        pool.NoteOverflow(300);
        RecycleAll(pool, RentMany(pool, 300));
        Assert.Equal(300, pool.Count);
    }

    [Fact]
    public void A_recycled_delivery_carries_nothing_of_its_last_message()
    {
        var pool = new DeliveryPool(null, Base, 100, new FakeTimeProvider());
        var delivery = pool.Rent();
        delivery.DeliveryTag = 7;
        delivery.Properties = new BasicProperties { MessageId = "m" };
        int token = delivery.Token;
        pool.Recycle(delivery);
        var again = pool.Rent();
        Assert.Same(delivery, again);
        Assert.NotEqual(token, again.Token);
        Assert.Same(BasicProperties.Empty, again.Properties);
    }

    private static List<Delivery> RentMany(DeliveryPool pool, int count)
    {
        var list = new List<Delivery>(count);
        for (int i = 0; i < count; i++)
        {
            list.Add(pool.Rent());
        }

        return list;
    }

    private static void RecycleAll(DeliveryPool pool, List<Delivery> deliveries)
    {
        foreach (var d in deliveries)
        {
            pool.Recycle(d);
        }
    }
}
