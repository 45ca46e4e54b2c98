using System.Threading.Channels;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// Raises the connection's events (ConnectionLost, Reconnected, Blocked, Unblocked) one at a time, off the
/// connection's own tasks, in the order they happened. Handlers that throw are ignored; a handler that
/// blocks delays later events, never the connection.
/// </summary>
internal sealed class SerialEventQueue
{
    // Created by the first Post (or Complete): most connections never raise an event, and the channel's
    // first segment is most of what this queue would cost them.
    private Channel<Action>? _pending;
    private int _started;

    private Channel<Action> Pending
    {
        get
        {
            var pending = Volatile.Read(ref _pending);
            if (pending is null)
            {
                // Racing creators agree on the first one stored, so every event and the completion go to the same channel.
                var created = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
                pending = Interlocked.CompareExchange(ref _pending, created, null) ?? created;
            }

            return pending;
        }
    }

    /// <summary>Queues <paramref name="raise"/> behind every event posted before it.</summary>
    public void Post(Action raise)
    {
        if (Pending.Writer.TryWrite(raise) && Interlocked.Exchange(ref _started, 1) == 0)
        {
            // Handlers must not inherit whatever execution context the first event happened to be raised in.
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(PumpAsync);
            }
        }
    }

    /// <summary>No more events: those already queued are still raised, then the pump ends.</summary>
    public void Complete() => Pending.Writer.TryComplete();

    private async Task PumpAsync()
    {
        await foreach (var raise in Pending.Reader.ReadAllAsync().ConfigureAwait(false))
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
