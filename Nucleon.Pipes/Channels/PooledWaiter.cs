using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// A reusable wait that ends once: woken by its owner (room in a confirm window, the head of a publish line) or by the
/// caller's token; the first one wins. Pooled by its owner and reused for every wait, so a publisher that is held back
/// again and again allocates nothing.
/// <para>
/// It goes back to the pool only after every holder has let go: its awaiter always, once it has read the result, and
/// the owner too when the owner keeps it listed after a cancellation (a publish line passes over a cancelled place
/// later instead of searching for it). Reading the result first waits for a cancellation callback still running, so
/// neither a late wake-up nor a late cancellation can reach the waiter's next use.
/// </para>
/// </summary>
internal sealed class PooledWaiter : IValueTaskSource
{
    private readonly Action<PooledWaiter>? _onCancelled;
    private readonly Action<PooledWaiter> _recycle;
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _registration;
    private CancellationToken _token;
    private int _ended;
    private int _holders;

    /// <param name="onCancelled">Takes a cancelled waiter off its owner's list (called before it is woken); null when the owner keeps it listed.</param>
    /// <param name="recycle">Gives the waiter back to its pool once every holder has let go.</param>
    public PooledWaiter(Action<PooledWaiter>? onCancelled, Action<PooledWaiter> recycle)
    {
        _onCancelled = onCancelled;
        _recycle = recycle;
    }

    /// <summary>Before it is listed: how many let go of it (1, the awaiter; 2, the awaiter and the owner's list).</summary>
    public void Prepare(int holders) => _holders = holders;

    /// <summary>Starts the wait; <paramref name="cancellationToken"/> can end it unless it was woken first.</summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _token = cancellationToken;
            _registration = cancellationToken.UnsafeRegister(static s =>
            {
                var waiter = (PooledWaiter)s!;
                waiter._onCancelled?.Invoke(waiter);
                waiter.TryEnd(new OperationCanceledException(waiter._token));
            }, this);
        }

        return new ValueTask(this, _core.Version);
    }

    /// <summary>Ends the wait successfully, unless its token ended it first. Continuations run on the thread pool.</summary>
    public bool TryWake() => TryEnd(null);

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
