using System.Collections.Concurrent;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// One consumer's recycled <see cref="Delivery"/> objects: rented on the connection's reader thread,
/// recycled on the consume loop's, through a lock-free queue (a lock here was contended on every message).
/// In steady state it keeps what the inbox's ring holds. While a burst outruns the consume loop and
/// deliveries wait in the inbox's overflow, it keeps as many as were waiting, so that the next burst of
/// that size reuses them instead of allocating one per message; once no delivery has gone to the overflow
/// for a whole <see cref="CalmPeriod"/>, a timer cuts it back (and stops), so a consumer that went idle after
/// a burst does not hold the burst's memory.
/// </summary>
internal sealed class DeliveryPool
{
    /// <summary>How long the overflow must stay unused before the pool gives back what a burst made it keep.</summary>
    public static readonly TimeSpan CalmPeriod = TimeSpan.FromSeconds(5);

    private readonly ConcurrentQueue<Delivery> _items = new();
    private readonly ConsumerState? _owner;
    private readonly TimeProvider _time;
    private readonly Action? _onCalm;
    private readonly int _baseLimit;
    private readonly int _maxLimit;
    private readonly Lock _timerLock = new();
    private int _limit;
    private int _pooled;
    private long _burstWrites; // deliveries that went to the overflow: written by the reader only
    private long _seenBurstWrites; // the timer's last look at _burstWrites
    private ITimer? _calmTimer;

    /// <param name="owner">The consumer that new deliveries return to.</param>
    /// <param name="baseLimit">Deliveries kept in steady state.</param>
    /// <param name="maxLimit">Deliveries kept at most after a burst.</param>
    /// <param name="time">The clock of the <see cref="CalmPeriod"/> timer.</param>
    /// <param name="onCalm">Also run when the pool is cut back (the inbox lets go of its spare overflow segments).</param>
    public DeliveryPool(ConsumerState? owner, int baseLimit, int maxLimit, TimeProvider time, Action? onCalm = null)
    {
        _onCalm = onCalm;
        ArgumentOutOfRangeException.ThrowIfNegative(baseLimit);
        _owner = owner;
        _baseLimit = baseLimit;
        _maxLimit = Math.Max(baseLimit, maxLimit);
        _limit = baseLimit;
        _time = time;
    }

    /// <summary>Deliveries waiting in the pool.</summary>
    public int Count => Volatile.Read(ref _pooled);

    /// <summary>How many the pool keeps now: its base, or more after a burst.</summary>
    public int Limit => Volatile.Read(ref _limit);

    public Delivery Rent()
    {
        if (_items.TryDequeue(out var delivery))
        {
            Interlocked.Decrement(ref _pooled);
            return delivery;
        }

        return new Delivery(_owner);
    }

    public void Recycle(Delivery delivery)
    {
        delivery.Reset();
        if (Interlocked.Increment(ref _pooled) <= Volatile.Read(ref _limit))
        {
            _items.Enqueue(delivery);
        }
        else
        {
            Interlocked.Decrement(ref _pooled);
        }
    }

    /// <summary>
    /// Reader: a delivery went to the inbox's overflow, where <paramref name="waiting"/> deliveries wait in all.
    /// The pool keeps that many (up to its maximum) until the overflow has been calm for a <see cref="CalmPeriod"/>.
    /// </summary>
    public void NoteOverflow(int waiting)
    {
        Volatile.Write(ref _burstWrites, _burstWrites + 1);
        int wanted = (int)Math.Min((long)waiting + _baseLimit, _maxLimit);
        if (wanted <= Volatile.Read(ref _limit))
        {
            return;
        }

        Volatile.Write(ref _limit, wanted);
        lock (_timerLock)
        {
            _calmTimer ??= _time.CreateTimer(static s => ((DeliveryPool)s!).OnCalmTick(), this, CalmPeriod, CalmPeriod);
        }
    }

    // Each period: if the overflow was used since the last tick, look again next period; otherwise drop
    // back to the base limit, give up what is above it, and stop ticking until the next burst.
    private void OnCalmTick()
    {
        long writes = Volatile.Read(ref _burstWrites);
        if (writes != _seenBurstWrites)
        {
            _seenBurstWrites = writes;
            return;
        }

        lock (_timerLock)
        {
            _calmTimer?.Dispose();
            _calmTimer = null;
            Volatile.Write(ref _limit, _baseLimit);
        }

        while (Volatile.Read(ref _pooled) > _baseLimit && _items.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _pooled);
        }

        _onCalm?.Invoke();
    }
}
