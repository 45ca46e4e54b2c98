using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// Publisher confirms of one channel. Sequence numbers are assigned in the same lock that puts the
/// publish into the channel's queue, so they always match the order the broker sees (one place,
/// never on a path that can be cancelled afterwards). Pending publishes sit in a ring buffer indexed
/// by sequence number; a window semaphore bounds how many are outstanding. Each publish awaits a
/// pooled <see cref="IValueTaskSource"/>, so confirmed publishing allocates nothing per message.
/// </summary>
internal sealed class ConfirmTracker
{
    private readonly object _lock = new();
    private readonly PendingConfirm?[] _ring;
    private readonly int _mask;
    private readonly SemaphoreSlim _window;
    private readonly Stack<PendingConfirm> _pool = new();
    private ulong _nextSequence = 1;
    private ulong _lowestPending = 1;
    private Exception? _failure;
    private AmqpMessageReturnedException? _returned;

    public ConfirmTracker(int maxOutstanding)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)maxOutstanding);
        _ring = new PendingConfirm?[size];
        _mask = size - 1;
        _window = new SemaphoreSlim(maxOutstanding, maxOutstanding);
    }

    /// <summary>Publishes not yet confirmed.</summary>
    public int Outstanding
    {
        get
        {
            lock (_lock)
            {
                int n = 0;
                for (ulong s = _lowestPending; s < _nextSequence; s++)
                {
                    if (_ring[(int)(s & (ulong)_mask)] is not null)
                    {
                        n++;
                    }
                }

                return n;
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

    /// <summary>Queues a publish and returns a task that completes when the broker confirms it.</summary>
    public ValueTask PublishAsync(OutboundQueue queue, OutboundCommand command, CancellationToken cancellationToken)
    {
        if (_window.Wait(0, CancellationToken.None))
        {
            return TryEnqueue(queue, command, out var pending)
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
        while (!TryEnqueue(queue, command, out pending))
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
    private bool TryEnqueue(OutboundQueue queue, OutboundCommand command, out PendingConfirm pending)
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
            pending = _pool.Count > 0 ? _pool.Pop() : new PendingConfirm(this);
            pending.SequenceNumber = seq;
            // The slot is filled before the command is visible to the writer: the ack can follow at once.
            _ring[(int)(seq & (ulong)_mask)] = pending;
            if (queue.TryAdd(command))
            {
                _nextSequence = seq + 1;
            }
            else
            {
                _ring[(int)(seq & (ulong)_mask)] = null;
                _pool.Push(pending);
                return false;
            }
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
            if (tag >= _nextSequence)
            {
                tag = _nextSequence - 1;
            }

            ulong from = multiple ? _lowestPending : tag;
            var returned = _returned;
            _returned = null;
            for (ulong s = from; s <= tag && s >= _lowestPending; s++)
            {
                ref var slot = ref _ring[(int)(s & (ulong)_mask)];
                if (slot is { } p && p.SequenceNumber == s)
                {
                    slot = null;
                    released++;
                    if (!ack)
                    {
                        p.Fail(new AmqpPublishNackedException(s));
                    }
                    else if (returned is not null && s == tag)
                    {
                        // RabbitMQ sends basic.return for an unroutable mandatory message just before its ack.
                        p.Fail(returned);
                    }
                    else
                    {
                        p.Succeed();
                    }
                }
            }

            while (_lowestPending < _nextSequence && _ring[(int)(_lowestPending & (ulong)_mask)] is null)
            {
                _lowestPending++;
            }
        }

        if (released > 0)
        {
            _window.Release(released);
        }
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
            for (ulong s = _lowestPending; s < _nextSequence; s++)
            {
                ref var slot = ref _ring[(int)(s & (ulong)_mask)];
                if (slot is { } p)
                {
                    slot = null;
                    released++;
                    p.Fail(error);
                }
            }

            _lowestPending = _nextSequence;
        }

        if (released > 0)
        {
            _window.Release(released);
        }
    }

    private void Return(PendingConfirm pending)
    {
        lock (_lock)
        {
            if (_pool.Count < _ring.Length)
            {
                _pool.Push(pending);
            }
        }
    }

    /// <summary>One publish awaiting its confirm; goes back to the pool when its result is read.</summary>
    private sealed class PendingConfirm(ConfirmTracker owner) : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

        public ulong SequenceNumber { get; set; }

        public ValueTask AsValueTask() => new(this, _core.Version);

        public void Succeed() => _core.SetResult(true);

        public void Fail(Exception error) => _core.SetException(error);

        public void GetResult(short token)
        {
            try
            {
                _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
                owner.Return(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
