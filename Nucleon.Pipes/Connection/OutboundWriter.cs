using System.Runtime.CompilerServices;
using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Nucleon.Pipes.Transport;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// The one task that writes to a connection's socket. It takes channels from a ready list in
/// arrival order, gives each a turn of at most <see cref="TurnBudget"/> bytes (so a large body
/// cannot starve other channels), always serves the connection's control lane (channel 0:
/// heartbeats, connection methods) first, and flushes only when it runs out of work or has
/// buffered a lot, so many small publishes share one system call; while the send loop is still
/// busy with the last flush it leaves the flush to it (see <see cref="SendProgress"/>).
/// </summary>
internal sealed class OutboundWriter
{
    private const int TurnBudget = 64 * 1024;
    private const int FlushThreshold = 256 * 1024;

    private readonly PipeWriter _output;
    // Synchronous continuations on purpose: after a quiet spell the thread that hands the parked writer work
    // runs the writer's loop inline until it parks again (at most about a pipe's pause threshold of copying),
    // instead of paying a thread-pool round trip for a lone command (see Ready). Callers therefore never
    // schedule a queue while holding a lock.
    private readonly Channel<OutboundQueue> _ready = Channel.CreateUnbounded<OutboundQueue>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });

    private readonly List<OutboundQueue> _known = [];
    private readonly SendProgress? _sendProgress;
    private readonly OutboundQueue _flushRequest; // an always-empty queue scheduled to make the writer flush
    private OutboundQueue? _current; // the queue whose turn is being written (writer task only)
    private long _bytesFlushed;
    private Exception? _closedReason;
    private int _unflushed;
    private long _lastReady; // when Ready was last called (see QuietSpell)

    /// <param name="output">The transport's output.</param>
    /// <param name="controlCapacity">Commands the control lane (channel 0) holds.</param>
    /// <param name="time">The clock of the connection.</param>
    /// <param name="sendProgress">The transport's send loop state, to skip flushes while it is busy; null: always flush.</param>
    public OutboundWriter(PipeWriter output, int controlCapacity, TimeProvider time, SendProgress? sendProgress = null)
    {
        _output = output;
        Time = time;
        Control = new OutboundQueue(this, 0, controlCapacity);
        _flushRequest = new OutboundQueue(this, 0, 1);
        _sendProgress = sendProgress;
        sendProgress?.OnFlushNeeded(_flushRequest.Schedule);
    }

    public TimeProvider Time { get; }

    /// <summary>Channel 0: connection methods and heartbeats, served before any other channel.</summary>
    public OutboundQueue Control { get; }

    /// <summary>
    /// Bytes handed to the socket by completed flushes. The heartbeat compares it between its ticks (a counter,
    /// not a clock: reading the time on every flush was a measurable share of a publish).
    /// </summary>
    public long BytesFlushed => Volatile.Read(ref _bytesFlushed);

    /// <summary>Bytes handed to the socket so far (for tests and diagnostics).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Raised (on the writer task) after a <see cref="OutboundKind.ConnectionFinal"/> command was flushed and the output completed.</summary>
    public Action? FinalWritten { get; set; }

    public OutboundQueue CreateQueue(ushort channel, int capacity, long byteCapacity = long.MaxValue)
    {
        var q = new OutboundQueue(this, channel, capacity, byteCapacity);
        lock (_known)
        {
            _known.Add(q);
        }

        return q;
    }

    public void Forget(OutboundQueue queue)
    {
        lock (_known)
        {
            _known.Remove(queue);
        }
    }

    /// <summary>
    /// Puts <paramref name="queue"/> on the ready list. After a <see cref="QuietSpell"/> the caller does it itself, so a lone
    /// command (an RPC, a single publish) is written and sent on the caller's thread with no hop. Within a stream
    /// of wake-ups it is handed to the thread pool: the writer then runs beside the publisher and drains what piled
    /// up meanwhile, instead of running inline on the publisher's thread, copying one message and parking again
    /// for every publish (measured: 0.9 parks per message in a publish loop).
    /// </summary>
    public void Ready(OutboundQueue queue)
    {
        if (QuietSpell.After(ref _lastReady))
        {
            _ready.Writer.TryWrite(queue);
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(queue, preferLocal: false);
        }
    }

    /// <summary>Thread pool: the hand-over of <see cref="Ready"/> in a stream.</summary>
    internal void ReadyNow(OutboundQueue queue) => _ready.Writer.TryWrite(queue);

    public Exception ClosedException() =>
        _closedReason as AmqpException ?? new AmqpConnectionLostException("The connection is closed; nothing more can be sent on it.", _closedReason);

    internal void Copy(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        _unflushed += bytes.Length;
        BytesWritten += bytes.Length;
    }

    /// <summary>Runs until the connection ends. Never throws: a failure is returned as the reason.</summary>
    public async Task<Exception?> RunAsync()
    {
        try
        {
            while (true)
            {
                if (!_ready.Reader.TryRead(out var queue))
                {
                    // Out of work: flush, unless the send loop is busy and will ask for it when it comes back.
                    if (_unflushed > 0 && _sendProgress?.TryDefer() != true)
                    {
                        await FlushAsync().ConfigureAwait(false);
                        continue;
                    }

                    if (!await _ready.Reader.WaitToReadAsync().ConfigureAwait(false))
                    {
                        return null;
                    }

                    continue;
                }

                _current = queue;
                // The control lane jumps the queue: a heartbeat never waits behind data.
                if (queue != Control && Control.WriteTurn(this, TurnBudget, out _, out var controlKind) > 0 && controlKind == OutboundKind.ConnectionFinal)
                {
                    await FinishAsync().ConfigureAwait(false);
                    return null;
                }

                queue.WriteTurn(this, TurnBudget, out bool more, out var kind);
                if (kind == OutboundKind.ConnectionFinal)
                {
                    await FinishAsync().ConfigureAwait(false);
                    return null;
                }

                if (more)
                {
                    _ready.Writer.TryWrite(queue);
                }
                else
                {
                    queue.Unschedule();
                }

                _current = null;

                if (_unflushed >= FlushThreshold)
                {
                    await FlushAsync().ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            return ex;
        }
        finally
        {
            ReleaseAll();
        }
    }

    // Writer task only: the queues' single reader is this task, so only it may drain them.
    private void ReleaseAll()
    {
        _ready.Writer.TryComplete();
        // A forgotten channel's queue may still be on the ready list, or be the one this turn was
        // writing: release those too, so that no command (and no publisher waiting on a body lease) is left behind.
        _current?.ReleaseAll();
        while (_ready.Reader.TryRead(out var pending))
        {
            pending.ReleaseAll();
        }

        Control.ReleaseAll();
        OutboundQueue[] all;
        lock (_known)
        {
            all = [.. _known];
        }

        foreach (var q in all)
        {
            q.ReleaseAll();
        }
    }

    /// <summary>Stops the writer: no more commands are accepted and everything queued is released.</summary>
    public void Stop(Exception? reason)
    {
        _closedReason ??= reason;
        _ready.Writer.TryComplete();
        Control.Complete(reason);
        OutboundQueue[] all;
        lock (_known)
        {
            all = [.. _known];
        }

        foreach (var q in all)
        {
            q.Complete(reason);
        }
    }

    private async Task FinishAsync()
    {
        await FlushAsync().ConfigureAwait(false);
        // Nothing may follow connection.close / close-ok: completing the output lets the send loop drain and stop.
        await _output.CompleteAsync().ConfigureAwait(false);
        FinalWritten?.Invoke();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushAsync()
    {
        _unflushed = 0;
        var result = await _output.FlushAsync().ConfigureAwait(false);
        Volatile.Write(ref _bytesFlushed, BytesWritten);
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new AmqpConnectionLostException("The socket was closed while writing.");
        }
    }
}
