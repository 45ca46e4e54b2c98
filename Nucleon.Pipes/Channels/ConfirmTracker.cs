using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// Publisher confirms of one channel. Sequence numbers are assigned in the same lock that puts the
/// publish into the channel's queue, so they always match the order the broker sees (one place,
/// never on a path that can be cancelled afterwards). Pending publishes sit in a
/// <see cref="SequenceBuffer{T}"/> (confirms may come in any order), and the same lock bounds how many
/// are outstanding (a separate semaphore cost two more contended locks per publish: its Wait and the
/// reader's Release). Each publish awaits a pooled <see cref="PendingConfirm"/>, so confirmed
/// publishing allocates nothing per message.
/// </summary>
internal sealed class ConfirmTracker
{
    private readonly Lock _lock = new();
    private readonly SequenceBuffer<PendingConfirm> _pending;
    private readonly int _maxOutstanding;
    private readonly ConcurrentQueue<PendingConfirm> _pool = new(); // lock-free: recycled by awaiters on their own threads
    private readonly Action<PendingConfirm> _recycle;
    private int _pooled;
    private readonly List<PooledWaiter> _waiting = []; // publishers parked on a full window; guarded by _lock
    private readonly ConcurrentQueue<PooledWaiter> _waiterPool = new();
    private readonly Action<PooledWaiter> _unlistWaiter;
    private readonly Action<PooledWaiter> _recycleWaiter;
    private ulong _nextSequence = 1;
    private Exception? _failure;

    public ConfirmTracker(int maxOutstanding)
    {
        _pending = new SequenceBuffer<PendingConfirm>(maxOutstanding);
        _maxOutstanding = maxOutstanding;
        _recycle = Recycle;
        _unlistWaiter = Unlist;
        _recycleWaiter = _waiterPool.Enqueue;
    }

    /// <summary>Publishes not yet confirmed (including those whose caller stopped waiting).</summary>
    public int Outstanding
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>The sequence number the next publish will get.</summary>
    public ulong NextSequenceNumber
    {
        get
        {
            lock (_lock)
            {
                return _nextSequence;
            }
        }
    }

    /// <summary>
    /// Queues a publish and returns a task that completes when the broker confirms it. The token is
    /// honoured at every stage: waiting for the window, for room in the queue, and for the confirm
    /// (then the publish may still reach the broker; the caller gets <see cref="OperationCanceledException"/>).
    /// </summary>
    public ValueTask PublishAsync(OutboundQueue queue, OutboundCommand command, CancellationToken cancellationToken) =>
        PublishAsync(queue, command, default, cancellationToken);

    /// <summary>As above, for a publish that is <paramref name="mandatory"/> (its basic.return is matched by it).</summary>
    public ValueTask PublishAsync(OutboundQueue queue, OutboundCommand command, in MandatoryPublish mandatory, CancellationToken cancellationToken) =>
        TryPublish(queue, command, mandatory, wakeWriter: true, cancellationToken, out var confirmed)
            ? confirmed
            : PublishSlowAsync(queue, command, mandatory, cancellationToken);

    /// <summary>
    /// Queues the publish now if the window and the channel's queue have room. True: <paramref name="confirmed"/> is
    /// its confirm (or the failure, or the cancellation, that already ended it). False: nothing happened and the
    /// command is still the caller's. With <paramref name="wakeWriter"/> false a queued publish leaves waking the
    /// writer to the caller (a batch).
    /// </summary>
    public bool TryPublish(OutboundQueue queue, OutboundCommand command, in MandatoryPublish mandatory, bool wakeWriter, CancellationToken cancellationToken, out ValueTask confirmed)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            command.Release();
            confirmed = ValueTask.FromCanceled(cancellationToken);
            return true;
        }

        switch (TryEnqueue(queue, command, mandatory, wakeWriter, cancellationToken, out var pending))
        {
            case Enqueue.Queued:
                confirmed = pending.AsValueTask();
                return true;
            case Enqueue.Failed:
                confirmed = Refuse(command);
                return true;
            default:
                confirmed = default;
                return false;
        }
    }

    // The window or the channel's queue was full.
    // Pooled builder: under back-pressure this path runs often; it must not allocate each time.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PublishSlowAsync(OutboundQueue queue, OutboundCommand command, MandatoryPublish mandatory, CancellationToken cancellationToken)
    {
        PendingConfirm pending;
        try
        {
            pending = await QueueWhenRoomAsync(queue, command, mandatory, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            command.Release();
            throw;
        }

        await pending.AsValueTask().ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for room in the window and in the channel's queue, then queues the publish and returns its pending
    /// confirm. Throws when the tracker has failed, the queue was closed, or the token fired; the command is then
    /// still the caller's.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<PendingConfirm> QueueWhenRoomAsync(OutboundQueue queue, OutboundCommand command, MandatoryPublish mandatory, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = TryEnqueue(queue, command, mandatory, wakeWriter: true, cancellationToken, out var pending);
            if (result == Enqueue.Queued)
            {
                return pending;
            }

            if (result == Enqueue.Failed)
            {
                throw _failure!;
            }

            // About to wait for confirms or for room: the writer must know about everything queued before.
            queue.Schedule();
            if (result == Enqueue.WindowFull)
            {
                await ParkAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (!await queue.WaitForRoomAsync(cancellationToken).ConfigureAwait(false))
            {
                throw queue.ClosedReason ?? new AmqpConnectionLostException("The channel's connection is closed.");
            }
        }
    }

    private ValueTask Refuse(OutboundCommand command)
    {
        command.Release();
        return ValueTask.FromException(_failure!);
    }

    private enum Enqueue
    {
        Queued,
        WindowFull, // park until the window has room, then retry
        QueueFull,  // wait for room in the channel's queue, then retry
        Failed,     // the tracker failed for good (the command is still the caller's)
    }

    private Enqueue TryEnqueue(OutboundQueue queue, OutboundCommand command, in MandatoryPublish mandatory, bool wakeWriter, CancellationToken cancellationToken, out PendingConfirm pending)
    {
        pending = null!;
        lock (_lock)
        {
            if (_failure is not null)
            {
                return Enqueue.Failed;
            }

            if (_pending.Count >= _maxOutstanding)
            {
                return Enqueue.WindowFull;
            }

            ulong seq = _nextSequence;
            pending = RentPending();
            // Tracked and watching its token before the command is visible to the writer: the ack can follow at once.
            pending.Arm(cancellationToken);
            pending.Mandatory = mandatory;
            if (!queue.TryAdd(command))
            {
                pending.Discard();
                pending = null!;
                return Enqueue.QueueFull;
            }

            _pending.Append(seq, pending);
            _nextSequence = seq + 1;
        }

        // Outside the lock: waking the writer may run it on this thread.
        if (wakeWriter)
        {
            queue.Schedule();
        }

        return Enqueue.Queued;
    }

    // Parks until a confirm frees the window (or the tracker fails); the caller then retries. If room appeared
    // since TryEnqueue looked, it returns at once.
    private ValueTask ParkAsync(CancellationToken cancellationToken)
    {
        PooledWaiter waiter;
        lock (_lock)
        {
            if (_failure is not null || _pending.Count < _maxOutstanding)
            {
                return ValueTask.CompletedTask;
            }

            waiter = _waiterPool.TryDequeue(out var pooled) ? pooled : new PooledWaiter(_unlistWaiter, _recycleWaiter);
            // Only its awaiter lets go: the list is cleared when it wakes them, and a cancelled one is unlisted first.
            waiter.Prepare(holders: 1);
            _waiting.Add(waiter);
        }

        // Registered outside the lock: a token that has already fired runs the callback (which takes the lock) right here.
        return waiter.WaitAsync(cancellationToken);
    }

    private void Unlist(PooledWaiter waiter)
    {
        lock (_lock)
        {
            _waiting.Remove(waiter);
        }
    }

    // Under _lock: every parked publisher retries (their continuations run on the thread pool, not here).
    private void WakeWaiters()
    {
        foreach (var waiter in _waiting)
        {
            waiter.TryWake();
        }

        _waiting.Clear();
    }

    private PendingConfirm RentPending()
    {
        if (_pool.TryDequeue(out var pooled))
        {
            Interlocked.Decrement(ref _pooled);
            return pooled;
        }

        return new PendingConfirm(_recycle);
    }

    // The reader's scratch space: a basic.ack(multiple) takes its publishes out of the window under the lock and
    // completes them after it, so the publisher (which takes the same lock for every publish) is not held up
    // meanwhile. Per thread, not per channel: idle confirm channels hold nothing.
    [ThreadStatic]
    private static Settled[]? t_settled;

    private const int SettleBatch = 64;

    private struct Settled
    {
        public PendingConfirm Pending;
        public ulong Sequence;
    }

    /// <summary>Reader: basic.ack or basic.nack for <paramref name="tag"/> (and all below it when multiple); returns how many publishes it settled.</summary>
    public int Confirm(ulong tag, bool multiple, bool ack)
    {
        var settled = t_settled ??= new Settled[SettleBatch];
        int released = 0;
        while (true)
        {
            int n = 0;
            lock (_lock)
            {
                if (multiple)
                {
                    while (n < SettleBatch && _pending.TryRemoveOldest(tag, out ulong seq, out var p))
                    {
                        settled[n++] = new Settled { Pending = p!, Sequence = seq };
                    }
                }
                else if (_pending.Remove(tag) is { } p)
                {
                    settled[n++] = new Settled { Pending = p, Sequence = tag };
                }

                if (n > 0 && _waiting.Count > 0)
                {
                    WakeWaiters();
                }
            }

            // Out of the window already, still held by the tracker: nobody else completes or reuses them (FailAll no
            // longer sees them; a basic.return for one of them came before this ack, on this same reader).
            for (int i = 0; i < n; i++)
            {
                Complete(settled[i].Pending, ack, settled[i].Sequence);
                settled[i] = default;
            }

            released += n;
            if (n < SettleBatch || !multiple)
            {
                return released;
            }
        }
    }

    private static void Complete(PendingConfirm p, bool ack, ulong seq)
    {
        var returned = p.Returned;
        if (!ack)
        {
            p.Fail(new AmqpPublishNackedException(seq));
        }
        else if (returned is not null)
        {
            // RabbitMQ sends basic.return for an unroutable mandatory message just before its ack.
            returned.SequenceNumber = seq;
            p.Fail(returned);
        }
        else
        {
            p.Succeed();
        }

        p.ReleaseByTracker();
    }

    /// <summary>
    /// Reader: a basic.return arrived on this confirm channel. It belongs to a mandatory publish not confirmed
    /// yet (its ack follows the return): the oldest with the same exchange, routing key, message-id and
    /// correlation-id, else the oldest with the same exchange and routing key. That publish fails when its
    /// confirm comes.
    /// </summary>
    public void Returned(AmqpMessageReturnedException returned)
    {
        lock (_lock)
        {
            var publish = _pending.FindOldest(returned, static (p, r) => p.Returned is null && p.Mandatory.Matches(r, sameIds: true))
                ?? _pending.FindOldest(returned, static (p, r) => p.Returned is null && p.Mandatory.Matches(r, sameIds: false));
            if (publish is not null)
            {
                publish.Returned = returned;
            }
        }
    }

    /// <summary>Fails every outstanding publish and refuses new ones.</summary>
    public void FailAll(Exception error)
    {
        lock (_lock)
        {
            _failure ??= error;
            while (_pending.TryRemoveOldest(ulong.MaxValue, out _, out var p))
            {
                p!.Fail(error);
                p.ReleaseByTracker();
            }

            // Parked publishers retry and see the failure.
            WakeWaiters();
        }
    }

    private void Recycle(PendingConfirm pending)
    {
        if (Interlocked.Increment(ref _pooled) <= _pending.Capacity)
        {
            _pool.Enqueue(pending);
        }
        else
        {
            Interlocked.Decrement(ref _pooled);
        }
    }
}
