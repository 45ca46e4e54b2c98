using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// A first-come first-served async mutex for a fixed set of workers, each with its own reusable
/// <see cref="Ticket"/>, so entering and leaving allocate nothing. A worker that leaves hands the gate
/// to the next waiter through the thread pool, never inline: the leaver goes on to run its own
/// handler, and the next worker must not run on its stack.
/// </summary>
internal sealed class WorkerGate(int workers)
{
    private readonly Lock _sync = new();
    private readonly Queue<Ticket> _waiting = new(workers);
    private bool _held;

    /// <summary>Enters the gate with <paramref name="ticket"/> (one wait per ticket at a time).</summary>
    public ValueTask EnterAsync(Ticket ticket)
    {
        lock (_sync)
        {
            if (!_held)
            {
                _held = true;
                return ValueTask.CompletedTask;
            }

            _waiting.Enqueue(ticket);
        }

        return ticket.WaitAsync();
    }

    /// <summary>Leaves the gate: the longest waiter, if any, gets it next.</summary>
    public void Exit()
    {
        Ticket? next;
        lock (_sync)
        {
            if (!_waiting.TryDequeue(out next))
            {
                _held = false;
                return;
            }
        }

        ThreadPool.UnsafeQueueUserWorkItem(next, preferLocal: false);
    }

    /// <summary>One worker's place in the queue, reused for every wait.</summary>
    internal sealed class Ticket : IValueTaskSource, IThreadPoolWorkItem
    {
        // Completed from its own thread-pool work item, so the continuation may run inline there.
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };

        public ValueTask WaitAsync() => new(this, _core.Version);

        void IThreadPoolWorkItem.Execute() => _core.SetResult(true);

        void IValueTaskSource.GetResult(short token)
        {
            try
            {
                _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
            }
        }

        ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
