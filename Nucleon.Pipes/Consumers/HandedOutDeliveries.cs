using Nucleon.Pipes.Channels;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// The manual-ack deliveries a consume loop handed out and has not seen recycled, in hand-out order.
/// A delivery settled on its own is recycled by whoever settled it; one settled by a <c>multiple</c>
/// ack or nack of a later tag (<see cref="ChannelCore.SettledThrough"/>) has nobody to do that, so
/// the loop claims and recycles those here on its next step. Without this, a loop that acks every
/// hundredth message with <c>multiple</c> would leave 99 of 100 deliveries to the garbage collector.
/// Used by the loop's one reader only (no lock).
/// </summary>
internal sealed class HandedOutDeliveries(int initialCapacity)
{
    private Entry[] _ring = new Entry[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(initialCapacity, 16, 4096))];
    private int _head;
    private int _count;

    public void Add(Delivery delivery)
    {
        if (_count == _ring.Length)
        {
            Compact();
            if (_count == _ring.Length)
            {
                Grow();
            }
        }

        _ring[(_head + _count) & (_ring.Length - 1)] = new Entry(delivery, delivery.Token);
        _count++;
    }

    /// <summary>Recycles the oldest deliveries a multiple settle covered; forgets those settled on their own.</summary>
    public void Reclaim(ulong settledThrough)
    {
        while (_count > 0)
        {
            var entry = _ring[_head];
            var delivery = entry.Delivery;
            if (delivery.Token == entry.Token && !delivery.Settled)
            {
                // Still out there, unsettled (as far as this delivery knows).
                if (delivery.DeliveryTag > settledThrough)
                {
                    return;
                }

                // Covered by a multiple settle: claim it (a settle of its own may race; one wins).
                if (delivery.TrySettle(entry.Token))
                {
                    delivery.Cursor?.Settled(delivery, multiple: false);
                    delivery.Owner?.Recycle(delivery);
                }
            }

            _ring[_head] = default;
            _head = (_head + 1) & (_ring.Length - 1);
            _count--;
        }
    }

    // Drops entries whose delivery was recycled or settled meanwhile (a slow message at the head holds the rest back).
    private void Compact()
    {
        int kept = 0;
        var ring = _ring;
        for (int i = 0; i < _count; i++)
        {
            var entry = ring[(_head + i) & (ring.Length - 1)];
            if (entry.Delivery.Token == entry.Token && !entry.Delivery.Settled)
            {
                ring[(_head + kept) & (ring.Length - 1)] = entry;
                kept++;
            }
        }

        for (int i = kept; i < _count; i++)
        {
            ring[(_head + i) & (ring.Length - 1)] = default;
        }

        _count = kept;
    }

    private void Grow()
    {
        var ring = new Entry[_ring.Length * 2];
        for (int i = 0; i < _count; i++)
        {
            ring[i] = _ring[(_head + i) & (_ring.Length - 1)];
        }

        _ring = ring;
        _head = 0;
    }

    private readonly record struct Entry(Delivery Delivery, int Token);
}
