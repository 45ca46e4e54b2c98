namespace Nucleon.Pipes.Channels;

/// <summary>
/// Items keyed by strictly increasing sequence numbers, removable in any order, in a fixed ring of
/// <c>capacity</c> entries. Unlike a ring indexed by <c>seq &amp; mask</c>, the distance between the
/// oldest and the newest sequence number is unbounded: RabbitMQ confirms out of order (a persistent
/// message waits for fsync while later transient ones are confirmed at once), so one slow confirm
/// must not let later publishes overwrite its slot. Entries stay sorted by sequence number; removing
/// one leaves a hole, holes at the head are trimmed at once and the rest are squeezed out when the
/// ring is full, so appending is amortised O(1), a lookup O(log n), and nothing is allocated after
/// construction. Not thread-safe: the owner locks.
/// </summary>
internal sealed class SequenceBuffer<T> where T : class
{
    private readonly ulong[] _sequences;
    private readonly T?[] _items;
    private readonly int _mask;
    private int _head;
    private int _count; // entries from _head on, holes included
    private int _live;

    public SequenceBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _sequences = new ulong[size];
        _items = new T?[size];
        _mask = size - 1;
    }

    /// <summary>How many items the buffer can hold at once.</summary>
    public int Capacity => _items.Length;

    /// <summary>Items held (holes not counted).</summary>
    public int Count => _live;

    /// <summary>Adds <paramref name="item"/> under a sequence number greater than every one added before.</summary>
    public void Append(ulong sequence, T item)
    {
        if (_count > 0 && sequence <= _sequences[(_head + _count - 1) & _mask])
        {
            throw new InvalidOperationException($"Sequence {sequence} is not greater than the last one appended.");
        }

        if (_count == _items.Length)
        {
            Compact();
            if (_count == _items.Length)
            {
                throw new InvalidOperationException($"The buffer holds {_live} items already (capacity {_items.Length}).");
            }
        }

        int i = (_head + _count) & _mask;
        _sequences[i] = sequence;
        _items[i] = item;
        _count++;
        _live++;
    }

    /// <summary>Removes and returns the item with exactly this sequence number, or null when there is none.</summary>
    public T? Remove(ulong sequence)
    {
        int logical = Find(sequence);
        if (logical < 0)
        {
            return null;
        }

        int i = (_head + logical) & _mask;
        var item = _items[i];
        _items[i] = null;
        if (item is not null)
        {
            _live--;
            TrimHead();
        }

        return item;
    }

    /// <summary>Removes the oldest item if its sequence number is at most <paramref name="maxSequence"/>.</summary>
    public bool TryRemoveOldest(ulong maxSequence, out ulong sequence, out T? item)
    {
        TrimHead();
        if (_count > 0 && _sequences[_head] <= maxSequence)
        {
            sequence = _sequences[_head];
            item = _items[_head];
            _items[_head] = null;
            _live--;
            TrimHead();
            return true;
        }

        sequence = 0;
        item = null;
        return false;
    }

    /// <summary>The oldest item that <paramref name="match"/> accepts, or null.</summary>
    public T? FindOldest<TState>(TState state, Func<T, TState, bool> match)
    {
        for (int logical = 0; logical < _count; logical++)
        {
            if (_items[(_head + logical) & _mask] is { } item && match(item, state))
            {
                return item;
            }
        }

        return null;
    }

    // Binary search over the logical positions [0, _count): sequence numbers increase along them.
    private int Find(ulong sequence)
    {
        int lo = 0, hi = _count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ulong s = _sequences[(_head + mid) & _mask];
            if (s == sequence)
            {
                return mid;
            }

            if (s < sequence)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return -1;
    }

    private void TrimHead()
    {
        while (_count > 0 && _items[_head] is null)
        {
            _head = (_head + 1) & _mask;
            _count--;
        }

        if (_count == 0)
        {
            _head = 0;
        }
    }

    // Squeezes the holes out, keeping order: the live items move to the front of the logical range.
    private void Compact()
    {
        int write = 0;
        for (int read = 0; read < _count; read++)
        {
            int from = (_head + read) & _mask;
            if (_items[from] is { } item)
            {
                int to = (_head + write) & _mask;
                _sequences[to] = _sequences[from];
                _items[to] = item;
                if (to != from)
                {
                    _items[from] = null;
                }

                write++;
            }
        }

        _count = write;
    }
}
