using System.Threading.Channels;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// Raises the connection's events (ConnectionLost, Reconnected, Blocked, Unblocked) one at a time, off the
/// connection's own tasks, in the order they happened. Handlers that throw are ignored; a handler that
/// blocks delays later events, never the connection.
/// </summary>
internal sealed class SerialEventQueue
{
    private readonly Channel<Action> _pending = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private int _started;

    /// <summary>Queues <paramref name="raise"/> behind every event posted before it.</summary>
    public void Post(Action raise)
    {
        if (_pending.Writer.TryWrite(raise) && Interlocked.Exchange(ref _started, 1) == 0)
        {
            // Handlers must not inherit whatever execution context the first event happened to be raised in.
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(PumpAsync);
            }
        }
    }

    /// <summary>No more events: those already queued are still raised, then the pump ends.</summary>
    public void Complete() => _pending.Writer.TryComplete();

    private async Task PumpAsync()
    {
        await foreach (var raise in _pending.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                raise();
            }
            catch (Exception)
            {
                // An application handler's exception must not stop the events behind it.
            }
        }
    }
}
