using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// Heartbeats of one connection (spec 4.2.7): every half interval it sends a heartbeat frame unless
/// something else was written meanwhile, and declares the connection dead after two intervals in which
/// nothing at all was read (any byte counts: <see cref="NoteRead"/> is called on every read).
/// Reads and writes are counted, not timed: the ticks compare counters, so the hot paths never read the clock.
/// </summary>
internal sealed class HeartbeatMonitor(TimeSpan heartbeat, TimeProvider time, OutboundWriter writer, AmqpEndpoint endpoint, Action<Exception> onTimeout)
{
    private long _reads;

    /// <summary>Bytes arrived from the broker (the reader task only).</summary>
    public void NoteRead() => Volatile.Write(ref _reads, _reads + 1);

    /// <summary>Runs until <paramref name="stopping"/> is cancelled or the broker has been silent too long.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var tick = heartbeat / 2;
        byte[] frame = new byte[AmqpConstants.FrameOverhead];
        FrameWriter.WriteHeartbeat(frame);
        long readsSeen = Volatile.Read(ref _reads), flushedSeen = writer.BytesFlushed;
        long silentSince = time.GetTimestamp();
        try
        {
            using var timer = new PeriodicTimer(tick, time);
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                long reads = Volatile.Read(ref _reads);
                if (reads != readsSeen)
                {
                    readsSeen = reads;
                    silentSince = time.GetTimestamp();
                }

                var sinceRead = time.GetElapsedTime(silentSince);
                if (sinceRead >= heartbeat * 2)
                {
                    onTimeout(new AmqpConnectionLostException(
                        $"Heartbeat timeout: nothing received from {endpoint} for {sinceRead.TotalSeconds:0.#} s (heartbeat {heartbeat.TotalSeconds:0.#} s)."));
                    return;
                }

                long flushed = writer.BytesFlushed;
                bool wroteSinceLastTick = flushed != flushedSeen;
                flushedSeen = flushed;
                if (!wroteSinceLastTick)
                {
                    byte[] command = OutboundCommand.Rent(frame.Length);
                    frame.CopyTo(command, 0);
                    if (writer.Control.TryEnqueue(new OutboundCommand(command, frame.Length)))
                    {
                        // Our own heartbeat does not count as traffic: if only it was written by the next tick, send another.
                        flushedSeen = flushed + frame.Length;
                    }
                    else
                    {
                        BufferPool.Return(command);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
