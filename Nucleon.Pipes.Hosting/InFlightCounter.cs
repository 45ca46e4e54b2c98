namespace Nucleon.Pipes.Hosting;

/// <summary>
/// Counts operations in progress (handlers running, publishes awaiting their confirm) so that shutdown
/// can wait until none is left.
/// </summary>
internal sealed class InFlightCounter
{
    private readonly object _lock = new();
    private int _count;
    private TaskCompletionSource? _idle;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    public void Enter()
    {
        lock (_lock)
        {
            _count++;
        }
    }

    public void Exit()
    {
        TaskCompletionSource? idle = null;
        lock (_lock)
        {
            if (--_count == 0)
            {
                idle = _idle;
                _idle = null;
            }
        }

        idle?.TrySetResult();
    }

    /// <summary>Completes when the count is zero; throws <see cref="OperationCanceledException"/> if the token fires first.</summary>
    public Task WaitIdleAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task.WaitAsync(cancellationToken);
        }
    }
}
