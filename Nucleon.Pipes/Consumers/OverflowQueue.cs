namespace Nucleon.Pipes.Consumers;

/// <summary>
/// The part of a <see cref="DeliveryInbox"/> past its ring: an unbounded single-producer single-consumer
/// queue of fixed-size segments. Emptied segments are kept for the next burst until <see cref="TrimSpares"/>,
/// so a consumer that falls behind again and again does not allocate per message (a ConcurrentQueue drops
/// its emptied segments: about 16 B for every message that passed through it).
/// It has no count of its own: the inbox's writer enqueues and then increments the inbox's interlocked
/// count, which publishes the slot (and a new segment's link); the reader dequeues only what that count
/// says is there.
/// </summary>
internal sealed class OverflowQueue
{
    private const int SegmentSize = 1024;

    private readonly Stack<Segment> _spares = new(); // under its own lock: touched once per segment
    private Segment _head; // reader
    private int _headIndex; // reader
    private Segment _tail; // writer
    private int _tailIndex; // writer

    public OverflowQueue()
    {
        _head = _tail = new Segment();
    }

    /// <summary>Spare segments kept for the next burst (for tests and diagnostics).</summary>
    public int SpareCount
    {
        get
        {
            lock (_spares)
            {
                return _spares.Count;
            }
        }
    }

    /// <summary>Writer only.</summary>
    public void Enqueue(Delivery delivery)
    {
        if (_tailIndex == SegmentSize)
        {
            var next = TakeSpare() ?? new Segment();
            _tail.Next = next;
            _tail = next;
            _tailIndex = 0;
        }

        _tail.Slots[_tailIndex++] = delivery;
    }

    /// <summary>Reader only, and only when the inbox's count says a delivery is there.</summary>
    public Delivery Dequeue()
    {
        if (_headIndex == SegmentSize)
        {
            // The writer has moved on to the next segment (the delivery the count promises is there).
            var done = _head;
            _head = done.Next!;
            _headIndex = 0;
            done.Next = null;
            lock (_spares)
            {
                _spares.Push(done);
            }
        }

        var slots = _head.Slots;
        var delivery = slots[_headIndex]!;
        slots[_headIndex++] = null;
        return delivery;
    }

    /// <summary>Lets go of the spare segments (the burst is over); safe from any thread.</summary>
    public void TrimSpares()
    {
        lock (_spares)
        {
            _spares.Clear();
            _spares.TrimExcess();
        }
    }

    private Segment? TakeSpare()
    {
        lock (_spares)
        {
            return _spares.Count > 0 ? _spares.Pop() : null;
        }
    }

    private sealed class Segment
    {
        public readonly Delivery?[] Slots = new Delivery?[SegmentSize];
        public Segment? Next;
    }
}
