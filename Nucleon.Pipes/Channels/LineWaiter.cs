using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// One place in a <see cref="PublishLine"/>. Ended once: handed the head of the line, or cancelled by its
/// caller's token; the first one wins. Two holders let go of it, the line's queue and its awaiter, and it goes back
/// to the pool only after both did.
/// </summary>
internal sealed class LineWaiter : IValueTaskSource
{
    private readonly Action<LineWaiter> _recycle;
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _registration;
    private CancellationToken _token;
    private int _ended;
    private int _holders;

    /// <param name="recycle">Returns the waiter to its pool once neither the queue nor the awaiter holds it.</param>
    public LineWaiter(Action<LineWaiter> recycle) => _recycle = recycle;

    /// <summary>Before it is queued: held by the queue and by the awaiter to come.</summary>
    public void Prepare() => _holders = 2;

    /// <summary>Starts the wait; <paramref name="cancellationToken"/> can end it unless it was handed over first.</summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _token = cancellationToken;
            _registration = cancellationToken.UnsafeRegister(static s =>
            {
                var waiter = (LineWaiter)s!;
                waiter.TryEnd(new OperationCanceledException(waiter._token));
            }, this);
        }

        return new ValueTask(this, _core.Version);
    }

    /// <summary>The line's head is handed to this waiter, unless its token ended the wait first.</summary>
    public bool TryGrant() => TryEnd(null);

    /// <summary>One holder is done with the waiter; the last one returns it to the pool.</summary>
    public void LetGo()
    {
        if (Interlocked.Decrement(ref _holders) == 0)
        {
            _core.Reset();
            Volatile.Write(ref _ended, 0);
            _recycle(this);
        }
    }

    private bool TryEnd(Exception? error)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return false;
        }

        if (error is null)
        {
            _core.SetResult(true);
        }
        else
        {
            _core.SetException(error);
        }

        return true;
    }

    void IValueTaskSource.GetResult(short token)
    {
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            // Waits for a cancellation callback still running elsewhere, so none can reach the waiter's next use.
            _registration.Dispose();
            _registration = default;
            _token = default;
            LetGo();
        }
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
