using System.Runtime.CompilerServices;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// Publisher confirms of one channel. Sequence numbers are assigned in the same lock that puts the
/// publish into the channel's queue, so they always match the order the broker sees (one place,
/// never on a path that can be cancelled afterwards). Pending publishes sit in a
/// <see cref="SequenceBuffer{T}"/> (confirms may come in any order); a window semaphore bounds how
/// many are outstanding. Each publish awaits a pooled <see cref="PendingConfirm"/>, so confirmed
/// publishing allocates nothing per message.
/// </summary>
internal sealed class ConfirmTracker
{
    private readonly object _lock = new();
    private readonly SequenceBuffer<PendingConfirm> _pending;
    private readonly SemaphoreSlim _window;
    private readonly Stack<PendingConfirm> _pool = new();
    private readonly Action<PendingConfirm> _recycle;
    private ulong _nextSequence = 1;
    private Exception? _failure;
    private AmqpMessageReturnedException? _returned;

    public ConfirmTracker(int maxOutstanding)
    {
        _pending = new SequenceBuffer<PendingConfirm>(maxOutstanding);
        _window = new SemaphoreSlim(maxOutstanding, maxOutstanding);
        _recycle = Recycle;
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
    public ValueTask PublishAsync(OutboundQueue queue, OutboundCommand command, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            command.Release();
            return ValueTask.FromCanceled(cancellationToken);
        }

        if (_window.Wait(0, CancellationToken.None))
        {
            return TryEnqueue(queue, command, cancellationToken, out var pending)
                ? pending.AsValueTask()
                : PublishSlowAsync(queue, command, haveSlot: true, cancellationToken);
        }

        return PublishSlowAsync(queue, command, haveSlot: false, cancellationToken);
    }

    // Either the window was full (no slot taken yet) or the queue was full (slot taken).
    // Pooled builder: under back-pressure this path runs often; it must not allocate each time.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PublishSlowAsync(OutboundQueue queue, OutboundCommand command, bool haveSlot, CancellationToken cancellationToken)
    {
        try
        {
            if (!haveSlot)
            {
                await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            command.Release();
            throw;
        }

        PendingConfirm? pending;
        while (!TryEnqueue(queue, command, cancellationToken, out pending))
        {
            bool room;
            try
            {
                room = await queue.WaitForRoomAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _window.Release();
                command.Release();
                throw;
            }

            if (!room)
            {
                _window.Release();
                command.Release();
                throw queue.ClosedReason ?? new AmqpConnectionLostException("The channel's connection is closed.");
            }
        }

        await pending.AsValueTask().ConfigureAwait(false);
    }

    // Holds a window slot. On success the slot belongs to the pending confirm.
    private bool TryEnqueue(OutboundQueue queue, OutboundCommand command, CancellationToken cancellationToken, out PendingConfirm pending)
    {
        lock (_lock)
        {
            if (_failure is not null)
            {
                _window.Release();
                command.Release();
                throw _failure;
            }

            ulong seq = _nextSequence;
            pending = _pool.Count > 0 ? _pool.Pop() : new PendingConfirm(_recycle);
            // Tracked and watching its token before the command is visible to the writer: the ack can follow at once.
            pending.Arm(cancellationToken);
            if (!queue.TryAdd(command))
            {
                pending.Discard();
                return false;
            }

            _pending.Append(seq, pending);
            _nextSequence = seq + 1;
        }

        // Outside the lock: waking the writer may run it on this thread.
        queue.Schedule();
        return true;
    }

    /// <summary>Reader: basic.ack or basic.nack for <paramref name="tag"/> (and all below it when multiple).</summary>
    public void Confirm(ulong tag, bool multiple, bool ack)
    {
        int released = 0;
        lock (_lock)
        {
            var returned = _returned;
            _returned = null;
            if (multiple)
            {
                while (_pending.TryRemoveOldest(tag, out ulong seq, out var p))
                {
                    Complete(p!, seq == tag ? returned : null, ack, seq);
                    released++;
                }
            }
            else if (_pending.Remove(tag) is { } p)
            {
                Complete(p, returned, ack, tag);
                released++;
            }
        }

        if (released > 0)
        {
            _window.Release(released);
        }
    }

    private static void Complete(PendingConfirm p, AmqpMessageReturnedException? returned, bool ack, ulong seq)
    {
        if (!ack)
        {
            p.Fail(new AmqpPublishNackedException(seq));
        }
        else if (returned is not null)
        {
            // RabbitMQ sends basic.return for an unroutable mandatory message just before its ack.
            p.Fail(returned);
        }
        else
        {
            p.Succeed();
        }

        p.ReleaseByTracker();
    }

    /// <summary>Reader: a basic.return arrived on this confirm channel; it belongs to the next confirm.</summary>
    public void Returned(AmqpMessageReturnedException returned)
    {
        lock (_lock)
        {
            _returned = returned;
        }
    }

    /// <summary>Fails every outstanding publish and refuses new ones.</summary>
    public void FailAll(Exception error)
    {
        int released = 0;
        lock (_lock)
        {
            _failure ??= error;
            while (_pending.TryRemoveOldest(ulong.MaxValue, out _, out var p))
            {
                p!.Fail(error);
                p.ReleaseByTracker();
                released++;
            }
        }

        if (released > 0)
        {
            _window.Release(released);
        }
    }

    private void Recycle(PendingConfirm pending)
    {
        lock (_lock)
        {
            if (_pool.Count < _pending.Capacity)
            {
                _pool.Push(pending);
            }
        }
    }
}
