using System.Collections.Concurrent;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// A first-come line with one place at its head: publishes that cannot be queued at once go through it one at a time,
/// in the order they arrived. Unlike <see cref="SemaphoreSlim"/>, whose every async wait allocates a task, the places
/// in line are pooled (<see cref="PooledWaiter"/>), so a publisher held back all the time allocates nothing.
/// <para>
/// A cancelled place stays in the queue until <see cref="Leave"/> reaches it and passes over it; it is reused only
/// once both the queue and its awaiter have let go of it, so a late hand-over can never reach its next user.
/// </para>
/// </summary>
internal sealed class PublishLine
{
    private readonly Lock _lock = new();
    private readonly Queue<PooledWaiter> _queue = new(); // guarded by _lock
    private readonly ConcurrentQueue<PooledWaiter> _pool = new(); // let go of on the awaiter's thread, outside the lock
    private readonly Action<PooledWaiter> _recycle;
    private bool _held; // guarded by _lock

    public PublishLine() => _recycle = _pool.Enqueue;

    /// <summary>Places waiting (including cancelled ones not yet passed over).</summary>
    public int Queued
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>
    /// Completes when the caller is at the head of the line; it must then call <see cref="Leave"/> exactly once.
    /// Throws <see cref="OperationCanceledException"/> (and holds nothing) when the token fires first.
    /// </summary>
    public ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        PooledWaiter waiter;
        lock (_lock)
        {
            if (!_held)
            {
                _held = true;
                return ValueTask.CompletedTask;
            }

            waiter = _pool.TryDequeue(out var pooled) ? pooled : new PooledWaiter(onCancelled: null, _recycle);
            // Held by the queue too: a cancelled place stays queued until Leave passes over it.
            waiter.Prepare(holders: 2);
            _queue.Enqueue(waiter);
        }

        // Registered outside the lock: a token that fires meanwhile runs its callback here, and the callback takes no lock.
        return waiter.WaitAsync(cancellationToken);
    }

    /// <summary>Hands the head of the line to the next waiter that is still waiting, or frees it.</summary>
    public void Leave()
    {
        lock (_lock)
        {
            while (_queue.TryDequeue(out var next))
            {
                // Under the lock, so a place is handed over at most once; its continuation runs on the thread pool.
                bool granted = next.TryWake();
                next.LetGo();
                if (granted)
                {
                    return;
                }
            }

            _held = false;
        }
    }
}
