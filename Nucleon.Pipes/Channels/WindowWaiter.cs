using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// A publisher parked until a confirm channel's window has room. Pooled by its <see cref="ConfirmTracker"/>
/// and reused for every wait, so a publisher that keeps hitting the window allocates nothing. Woken once:
/// by the tracker (room, or failure) or by the caller's token; the first one wins.
/// </summary>
internal sealed class WindowWaiter : IValueTaskSource
{
    private readonly Action<WindowWaiter> _onCancelled;
    private readonly Action<WindowWaiter> _recycle;
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _registration;
    private CancellationToken _token;
    private int _signalled;

    /// <param name="onCancelled">Takes a cancelled waiter off the tracker's list (called before it is woken).</param>
    /// <param name="recycle">Gives the waiter back to its pool once its wait was observed.</param>
    public WindowWaiter(Action<WindowWaiter> onCancelled, Action<WindowWaiter> recycle)
    {
        _onCancelled = onCancelled;
        _recycle = recycle;
    }

    /// <summary>Starts a wait that <paramref name="cancellationToken"/> can end. The tracker lists the waiter first.</summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _token = cancellationToken;
            _registration = cancellationToken.UnsafeRegister(static s =>
            {
                var waiter = (WindowWaiter)s!;
                waiter._onCancelled(waiter);
                waiter.Signal(new OperationCanceledException(waiter._token));
            }, this);
        }

        return new ValueTask(this, _core.Version);
    }

    /// <summary>The window has room (or the tracker failed: the publisher retries and finds out). Continuations run on the thread pool.</summary>
    public void Wake() => Signal(null);

    private void Signal(Exception? error)
    {
        if (Interlocked.Exchange(ref _signalled, 1) != 0)
        {
            return;
        }

        if (error is null)
        {
            _core.SetResult(true);
        }
        else
        {
            _core.SetException(error);
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            // Observed exactly once by its one awaiter: ready for the next wait.
            _registration.Dispose();
            _registration = default;
            _token = default;
            _core.Reset();
            Volatile.Write(ref _signalled, 0);
            _recycle(this);
        }
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
