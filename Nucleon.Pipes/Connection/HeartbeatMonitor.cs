using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// Heartbeats of one connection (spec 4.2.7): every half interval it sends a heartbeat frame unless
/// something else was written meanwhile, and declares the connection dead after two intervals in which
/// nothing at all was read (any byte counts: <see cref="NoteRead"/> is called on every read).
/// Reads and writes are counted, not timed: the ticks compare counters, so the hot paths never read the clock.
/// A timer callback, not a task looping on a periodic timer: an idle connection then holds one timer and no
/// suspended state machine or cancellation registration.
/// </summary>
internal sealed class HeartbeatMonitor(TimeSpan heartbeat, TimeProvider time, OutboundWriter writer, AmqpEndpoint endpoint, Action<Exception> onTimeout)
{
    private static readonly byte[] Frame = HeartbeatFrame();

    private long _reads;
    private ITimer? _timer;
    private int _stopped;
    private int _ticking; // a tick that finds another still running (a starved thread pool) is skipped
    // The tick's own state: only the one running tick touches it.
    private long _readsSeen;
    private long _flushedSeen;
    private long _silentSince;

    /// <summary>Bytes arrived from the broker (the reader task only).</summary>
    public void NoteRead() => Volatile.Write(ref _reads, _reads + 1);

    /// <summary>Starts ticking, until <see cref="Stop"/> or until the broker has been silent too long.</summary>
    public void Start()
    {
        _readsSeen = Volatile.Read(ref _reads);
        _flushedSeen = writer.BytesFlushed;
        _silentSince = time.GetTimestamp();
        var tick = heartbeat / 2;
        // The ticks need nothing from the flow that opened the connection: without its execution context the timer
        // does not keep that flow's async-locals (an application's activity or scope) alive for the connection's life.
        ITimer timer;
        if (ExecutionContext.IsFlowSuppressed())
        {
            timer = CreateTimer(tick);
        }
        else
        {
            using (ExecutionContext.SuppressFlow())
            {
                timer = CreateTimer(tick);
            }
        }

        Interlocked.Exchange(ref _timer, timer);
        if (Volatile.Read(ref _stopped) != 0)
        {
            // Stop ran before the timer was stored: it could not dispose it.
            timer.Dispose();
        }
    }

    private ITimer CreateTimer(TimeSpan tick) => time.CreateTimer(static s => ((HeartbeatMonitor)s!).Tick(), this, tick, tick);

    /// <summary>Stops ticking (the connection is going); safe before <see cref="Start"/> and more than once.</summary>
    public void Stop()
    {
        Interlocked.Exchange(ref _stopped, 1);
        Volatile.Read(ref _timer)?.Dispose();
    }

    private void Tick()
    {
        if (Volatile.Read(ref _stopped) != 0 || Interlocked.Exchange(ref _ticking, 1) != 0)
        {
            return;
        }

        try
        {
            long reads = Volatile.Read(ref _reads);
            if (reads != _readsSeen)
            {
                _readsSeen = reads;
                _silentSince = time.GetTimestamp();
            }

            var sinceRead = time.GetElapsedTime(_silentSince);
            if (sinceRead >= heartbeat * 2)
            {
                Stop();
                onTimeout(new AmqpConnectionLostException(
                    $"Heartbeat timeout: nothing received from {endpoint} for {sinceRead.TotalSeconds:0.#} s (heartbeat {heartbeat.TotalSeconds:0.#} s)."));
                return;
            }

            long flushed = writer.BytesFlushed;
            bool wroteSinceLastTick = flushed != _flushedSeen;
            _flushedSeen = flushed;
            if (!wroteSinceLastTick)
            {
                byte[] command = OutboundCommand.Rent(Frame.Length);
                Frame.CopyTo(command, 0);
                if (writer.Control.TryEnqueue(new OutboundCommand(command, Frame.Length)))
                {
                    // Our own heartbeat does not count as traffic: if only it was written by the next tick, send another.
                    _flushedSeen = flushed + Frame.Length;
                }
                else
                {
                    BufferPool.Return(command);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    private static byte[] HeartbeatFrame()
    {
        byte[] frame = new byte[AmqpConstants.FrameOverhead];
        FrameWriter.WriteHeartbeat(frame);
        return frame;
    }
}
