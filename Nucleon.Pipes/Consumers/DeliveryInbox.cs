using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// A consumer's inbox. The connection's reader task is its only writer and the consume loop its only
/// reader, so its main part is a single-producer single-consumer ring with no lock: a bounded
/// <c>System.Threading.Channels</c> channel took a monitor on every write and every read, and on the
/// null broker those two contended locks were ~15 % of the CPU of consuming with auto-ack.
/// The writer never waits: the connection's reader serves every channel, so one slow consume loop
/// must not stop it. When the ring is full, deliveries go to an overflow queue bounded in bytes (order
/// is kept: once the overflow holds anything, new deliveries queue behind it); when that is full too,
/// <see cref="TryWrite"/> refuses and the owner cancels the consumer. A consumer whose inbox is
/// sized to its prefetch never overflows: the broker bounds it.
/// The reader parks on a reusable awaitable when there is nothing to read; wake-ups run its
/// continuation on the thread pool, never inline on the connection's reader.
/// </summary>
internal sealed class DeliveryInbox
{
    private readonly Delivery?[] _ring;
    private readonly int _mask;
    private readonly int _capacity;
    private readonly long _overflowByteLimit;
    private readonly Waiter _readerWaiter = new();
    private readonly OverflowQueue _overflow = new();
    private int _overflowCount; // incremented by the writer, decremented by the reader
    private long _overflowBytes; // likewise, in OverflowCost units

    private RingIndices _indices;
    private int _completing;
    private int _completed;
    private Exception? _error;

    /// <summary>What one message costs in the overflow besides its body: the pooled delivery and its bookkeeping.</summary>
    public const int MessageOverhead = 256;

    /// <param name="capacity">Deliveries the ring holds.</param>
    /// <param name="overflowByteLimit">Bytes (see <see cref="OverflowCost"/>) the overflow may hold once the ring is full (0: no overflow).</param>
    public DeliveryInbox(int capacity, long overflowByteLimit = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(overflowByteLimit);
        _capacity = capacity;
        _overflowByteLimit = overflowByteLimit;
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 2));
        _ring = new Delivery?[size];
        _mask = size - 1;
    }

    /// <summary>Deliveries the ring holds.</summary>
    public int Capacity => _capacity;

    /// <summary>No more deliveries will be written (those already in it can still be read).</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>Why the inbox was completed, when it ended with an error.</summary>
    public Exception? Error => IsCompleted ? _error : null;

    /// <summary>Lets go of the overflow's spare segments (a burst is over).</summary>
    public void TrimOverflow() => _overflow.TrimSpares();

    /// <summary>Spare overflow segments kept for the next burst (for tests and diagnostics).</summary>
    public int OverflowSpareSegments => _overflow.SpareCount;

    /// <summary>Deliveries waiting in the overflow (for tests and diagnostics).</summary>
    public int OverflowCount => Volatile.Read(ref _overflowCount);

    /// <summary>Deliveries waiting to be read, ring and overflow.</summary>
    public int Count => (int)(Volatile.Read(ref _indices.Tail) - Volatile.Read(ref _indices.Head)) + Volatile.Read(ref _overflowCount);

    /// <summary>What a delivery costs in the overflow's byte budget.</summary>
    public static long OverflowCost(Delivery delivery) => delivery.BodyLength + MessageOverhead;

    private bool HasItems => Volatile.Read(ref _indices.Head) != Volatile.Read(ref _indices.Tail) || Volatile.Read(ref _overflowCount) > 0;

    // ------------------------------------------------------------------ writer (the connection's reader task)

    /// <summary>
    /// Adds a delivery if the inbox is open and has room in its ring or its overflow, and wakes the reader;
    /// never waits. False means the consumer cannot keep up (or the inbox is completed): the caller keeps
    /// the delivery.
    /// </summary>
    public bool TryWrite(Delivery delivery)
    {
        if (!TryAppend(delivery))
        {
            return false;
        }

        WakeReader();
        return true;
    }

    /// <summary>
    /// As <see cref="TryWrite"/>, but leaves waking the reader to <see cref="WakeReader"/>: the connection's
    /// reader appends a whole receive buffer's deliveries and wakes each consumer once, instead of paying a
    /// full fence per delivery. A reader that is not parked sees each delivery as soon as it is appended.
    /// </summary>
    public bool TryAppend(Delivery delivery)
    {
        if (IsCompleted)
        {
            return false;
        }

        // Behind an overflow nothing may overtake it: the reader drains the ring before the overflow.
        if (Volatile.Read(ref _overflowCount) == 0)
        {
            long tail = _indices.Tail;
            if (tail - _indices.HeadSeen >= _capacity)
            {
                _indices.HeadSeen = Volatile.Read(ref _indices.Head);
            }

            if (tail - _indices.HeadSeen < _capacity)
            {
                _ring[tail & _mask] = delivery;
                Volatile.Write(ref _indices.Tail, tail + 1);
                return true;
            }
        }

        long cost = OverflowCost(delivery);
        if (Volatile.Read(ref _overflowBytes) + cost > _overflowByteLimit)
        {
            return false;
        }

        Interlocked.Add(ref _overflowBytes, cost);
        _overflow.Enqueue(delivery);
        Interlocked.Increment(ref _overflowCount);
        return true;
    }

    /// <summary>Set by the connection's reader while this inbox is on its list of consume loops to wake (its thread only).</summary>
    public bool WakeQueued { get; set; }

    /// <summary>Wakes the reader if it is parked, after appends.</summary>
    public void WakeReader()
    {
        // A full fence: the reader either sees what was appended, or has armed its waiter before we look at it.
        Interlocked.MemoryBarrier();
        _readerWaiter.Wake();
    }

    /// <summary>Ends the inbox; the first call decides the error. Wakes both sides.</summary>
    public void Complete(Exception? error = null)
    {
        if (Interlocked.CompareExchange(ref _completing, 1, 0) != 0)
        {
            return;
        }

        _error = error;
        Interlocked.Exchange(ref _completed, 1);
        _readerWaiter.Wake();
    }

    // ------------------------------------------------------------------ reader (the consume loop)

    /// <summary>Tests only: runs between the ring found empty and the look at the overflow (the window of a race).</summary>
    internal Action? AfterRingFoundEmpty { get; set; }

    /// <summary>Takes the oldest delivery, if any.</summary>
    public bool TryRead([NotNullWhen(true)] out Delivery? delivery)
    {
        if (TryReadRing(refresh: false, out delivery))
        {
            return true;
        }

        AfterRingFoundEmpty?.Invoke();
        if (Volatile.Read(ref _overflowCount) > 0)
        {
            // The writer may have filled the ring after it looked empty and then started the overflow: those ring
            // deliveries come first. It uses the ring only while the overflow is empty, so the ring's tail is final
            // for as long as the overflow holds anything, and this one look is enough.
            if (TryReadRing(refresh: true, out delivery))
            {
                return true;
            }

            delivery = _overflow.Dequeue();
            Interlocked.Decrement(ref _overflowCount);
            Interlocked.Add(ref _overflowBytes, -OverflowCost(delivery));
            return true;
        }

        delivery = null;
        return false;
    }

    // Reader only. The reader's copy of the tail is refreshed when it says "empty", or when asked.
    private bool TryReadRing(bool refresh, [NotNullWhen(true)] out Delivery? delivery)
    {
        long head = _indices.Head;
        if (refresh || head == _indices.TailSeen)
        {
            _indices.TailSeen = Volatile.Read(ref _indices.Tail);
        }

        if (head != _indices.TailSeen)
        {
            long slot = head & _mask;
            delivery = _ring[slot]!;
            _ring[slot] = null;
            Volatile.Write(ref _indices.Head, head + 1);
            return true;
        }

        delivery = null;
        return false;
    }

    /// <summary>
    /// Waits until there may be something to read: true means "try reading again", false means the inbox is
    /// completed and empty. Throws <see cref="OperationCanceledException"/> if <paramref name="cancellationToken"/> fires first.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        if (HasItems)
        {
            return new ValueTask<bool>(true);
        }

        if (IsCompleted)
        {
            return new ValueTask<bool>(HasItems);
        }

        cancellationToken.ThrowIfCancellationRequested();
        _readerWaiter.Arm();
        if ((HasItems || IsCompleted) && _readerWaiter.TryDisarm())
        {
            return new ValueTask<bool>(true);
        }

        return _readerWaiter.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// The reader's and the writer's positions, each on a cache line of its own next to that side's copy of
    /// the other's: a side re-reads the other's line only when its copy says "empty" (reader) or "full"
    /// (writer), instead of the two cores passing one shared line back and forth on every message.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 3 * CacheLine)]
    private struct RingIndices
    {
        private const int CacheLine = 64;

        /// <summary>Next slot to read: advanced by the reader only.</summary>
        [FieldOffset(CacheLine)]
        public long Head;

        /// <summary>The reader's copy of <see cref="Tail"/> (reader only).</summary>
        [FieldOffset(CacheLine + 8)]
        public long TailSeen;

        /// <summary>Next slot to write: advanced by the writer only.</summary>
        [FieldOffset(2 * CacheLine)]
        public long Tail;

        /// <summary>The writer's copy of <see cref="Head"/> (writer only).</summary>
        [FieldOffset(2 * CacheLine + 8)]
        public long HeadSeen;
    }

    /// <summary>
    /// One side's parking spot: armed by the side that waits, woken (at most once per arming) by the other
    /// side or by cancellation. Reused for every wait, so waiting allocates nothing. The waiter's continuation
    /// never runs on the waker's thread (the connection's reader): the wake-up queues this spot itself to the
    /// thread pool, which completes the wait there. (A source that ran its continuations asynchronously would
    /// allocate a work item per wake-up for any continuation other than an async method's.)
    /// </summary>
    private sealed class Waiter : IValueTaskSource<bool>, IThreadPoolWorkItem
    {
        private ManualResetValueTaskSourceCore<bool> _core;
        private int _armed;
        private CancellationTokenRegistration _cancellation;
        private CancellationToken _token;
        private bool _cancelled; // set before this spot is queued by a cancellation

        /// <summary>Announces a wait (a full fence); the caller then re-checks its condition.</summary>
        public void Arm() => Interlocked.Exchange(ref _armed, 1);

        /// <summary>Takes an arming back; false when a waker already took it (then its wake-up must be awaited).</summary>
        public bool TryDisarm() => Interlocked.CompareExchange(ref _armed, 0, 1) == 1;

        public ValueTask<bool> WaitAsync(CancellationToken cancellationToken)
        {
            if (cancellationToken.CanBeCanceled)
            {
                _token = cancellationToken;
                _cancellation = cancellationToken.UnsafeRegister(static s => ((Waiter)s!).Cancel(), this);
            }

            return new ValueTask<bool>(this, _core.Version);
        }

        /// <summary>Wakes the waiter if it is armed; cheap (one read) when nobody waits.</summary>
        public void Wake()
        {
            if (Volatile.Read(ref _armed) == 1 && Interlocked.CompareExchange(ref _armed, 0, 1) == 1)
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
            }
        }

        private void Cancel()
        {
            if (Interlocked.CompareExchange(ref _armed, 0, 1) == 1)
            {
                _cancelled = true;
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
            }
        }

        // On the thread pool, once per wake-up or cancellation (the arming is taken exactly once).
        void IThreadPoolWorkItem.Execute()
        {
            if (_cancelled)
            {
                _cancelled = false;
                _core.SetException(new OperationCanceledException(_token));
                return;
            }

            _core.SetResult(true);
        }

        bool IValueTaskSource<bool>.GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                // Each wait is awaited exactly once by the single waiting side: ready the spot for the next one.
                _cancellation.Dispose();
                _cancellation = default;
                _token = default;
                _core.Reset();
            }
        }

        ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
