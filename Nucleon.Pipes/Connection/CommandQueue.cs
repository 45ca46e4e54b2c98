using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// The storage of one channel's <see cref="OutboundQueue"/>: many producers (publishers, RPC callers,
/// the consume loop's acks), one consumer (the connection's writer), bounded by a count and by the bytes it holds.
/// <para>
/// Why bytes too: small publishes are what a deep queue is for (a confirmed publisher keeps its whole window in
/// flight; with a bound of a few hundred commands it waited for room behind a writer that was still draining), and
/// large ones are what memory is for. A command is accepted while the queue holds less than the byte bound, so one
/// command larger than the bound still goes through an empty queue.
/// </para>
/// <para>
/// Why not a bounded <c>System.Threading.Channels</c> channel: it takes a lock on every write and every
/// read, and wakes a waiting producer each time the reader frees one slot. A publisher faster than the
/// socket then ping-pongs with the writer once per message (a thread-pool wake-up and a contended lock
/// each time; the profile of the null-broker publish showed that as the largest single cost). Here
/// producers and the writer share no lock, and producers that found the queue full are woken once,
/// when it has drained to half (<see cref="LowWater"/>), and then refill it without waiting.
/// </para>
/// </summary>
internal sealed class CommandQueue(int capacity, long byteCapacity = long.MaxValue)
{
    // Created on the first add: an idle channel would otherwise hold the queue's first 32-slot segment (~1 KB).
    private ConcurrentQueue<OutboundCommand>? _items;
    private readonly object _roomLock = new();
    private readonly int _lowWater = Math.Max(0, capacity / 2);
    private readonly long _byteLowWater = byteCapacity / 2;
    private int _count; // reserved slots: incremented before an enqueue, decremented after a dequeue
    private long _bytes; // bytes of the commands counted in _count
    private int _adding; // producers inside TryAdd: Complete waits for them, so nothing is added after it
    private volatile int _completed;
    private TaskCompletionSource<bool>? _room; // producers waiting for room share it; guarded by _roomLock

    /// <summary>The producers' bound.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>The producers' bound in bytes: a command is accepted while the queue holds less.</summary>
    public long ByteCapacity { get; } = byteCapacity;

    /// <summary>Waiting producers are woken when the count falls to this (and the bytes to half their bound).</summary>
    public int LowWater => _lowWater;

    /// <summary>Bytes of the commands queued (or being queued).</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Commands queued (or being queued).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>True when a command can be dequeued now.</summary>
    public bool HasItems => Volatile.Read(ref _items) is { IsEmpty: false };

    /// <summary>No more commands are accepted.</summary>
    public bool IsCompleted => _completed != 0;

    /// <summary>Adds a command if there is room and the queue is open; never waits.</summary>
    public bool TryAdd(in OutboundCommand command)
    {
        // Announced before the completion check (a full fence), so Complete either is seen here or waits for this add.
        Interlocked.Increment(ref _adding);
        try
        {
            if (_completed != 0)
            {
                return false;
            }

            if (Interlocked.Increment(ref _count) > Capacity)
            {
                Interlocked.Decrement(ref _count);
                return false;
            }

            if (Interlocked.Add(ref _bytes, command.Length) - command.Length >= ByteCapacity)
            {
                Interlocked.Add(ref _bytes, -command.Length);
                Interlocked.Decrement(ref _count);
                return false;
            }

            (Volatile.Read(ref _items) ?? CreateItems()).Enqueue(command);
            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _adding);
        }
    }

    /// <summary>Writer: takes the oldest command; wakes waiting producers once the queue is down to <see cref="LowWater"/>.</summary>
    public bool TryTake([MaybeNullWhen(false)] out OutboundCommand command)
    {
        if (Volatile.Read(ref _items) is not { } items || !items.TryDequeue(out command))
        {
            command = default;
            return false;
        }

        long bytes = Interlocked.Add(ref _bytes, -command.Length);
        if (Interlocked.Decrement(ref _count) <= _lowWater && bytes <= _byteLowWater && Volatile.Read(ref _room) is not null)
        {
            WakeProducers(result: true);
        }

        return true;
    }

    /// <summary>
    /// Waits until there may be room: true means "try adding again", false means the queue is completed.
    /// Throws <see cref="OperationCanceledException"/> if <paramref name="cancellationToken"/> fires first.
    /// </summary>
    public ValueTask<bool> WaitForRoomAsync(CancellationToken cancellationToken)
    {
        Task<bool> wait;
        lock (_roomLock)
        {
            if (_completed != 0)
            {
                return new ValueTask<bool>(false);
            }

            if (Volatile.Read(ref _count) < Capacity && Volatile.Read(ref _bytes) < ByteCapacity)
            {
                return new ValueTask<bool>(true);
            }

            // The writer checks _room after each take: set it before it can miss us (the count was read above, under the lock
            // that WakeProducers also takes, so a take that ran in between is seen by the re-check below).
            _room ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _room.Task;
        }

        if (Volatile.Read(ref _count) <= _lowWater && Volatile.Read(ref _bytes) <= _byteLowWater)
        {
            WakeProducers(result: true);
        }

        return new ValueTask<bool>(cancellationToken.CanBeCanceled ? wait.WaitAsync(cancellationToken) : wait);
    }

    /// <summary>
    /// No more commands are accepted; waiting producers are told. Once this returns nothing more is added,
    /// so a drain after it is final. What was added before stays for the writer (or a drain).
    /// </summary>
    public void Complete()
    {
        Interlocked.Exchange(ref _completed, 1);
        var spin = default(SpinWait);
        while (Volatile.Read(ref _adding) != 0)
        {
            spin.SpinOnce(); // an add in progress: a few instructions away from done
        }

        WakeProducers(result: false);
    }

    /// <summary>Releases every queued command (the queue is completed, or its channel is gone).</summary>
    public void DrainAndRelease()
    {
        var items = Volatile.Read(ref _items);
        while (items is not null && items.TryDequeue(out var dropped))
        {
            Interlocked.Add(ref _bytes, -dropped.Length);
            Interlocked.Decrement(ref _count);
            dropped.Release();
        }
    }

    private ConcurrentQueue<OutboundCommand> CreateItems()
    {
        Interlocked.CompareExchange(ref _items, new ConcurrentQueue<OutboundCommand>(), null);
        return _items!;
    }

    private void WakeProducers(bool result)
    {
        TaskCompletionSource<bool>? room;
        lock (_roomLock)
        {
            room = _room;
            _room = null;
        }

        room?.TrySetResult(result);
    }
}
