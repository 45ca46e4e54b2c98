using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// Heartbeats of one connection (spec 4.2.7): every half interval it sends a heartbeat frame unless
/// something else was written meanwhile, and declares the connection dead after two intervals in which
/// nothing at all was read (any byte counts: <see cref="NoteRead"/> is called on every read).
/// </summary>
internal sealed class HeartbeatMonitor(TimeSpan heartbeat, TimeProvider time, OutboundWriter writer, AmqpEndpoint endpoint, Action<Exception> onTimeout)
{
    private long _lastReadTimestamp = time.GetTimestamp();

    /// <summary>Bytes arrived from the broker.</summary>
    public void NoteRead() => Volatile.Write(ref _lastReadTimestamp, time.GetTimestamp());

    /// <summary>Runs until <paramref name="stopping"/> is cancelled or the broker has been silent too long.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var tick = heartbeat / 2;
        byte[] frame = new byte[AmqpConstants.FrameOverhead];
        FrameWriter.WriteHeartbeat(frame);
        try
        {
            using var timer = new PeriodicTimer(tick, time);
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                var sinceRead = time.GetElapsedTime(Volatile.Read(ref _lastReadTimestamp));
                if (sinceRead > heartbeat * 2)
                {
                    onTimeout(new AmqpConnectionLostException(
                        $"Heartbeat timeout: nothing received from {endpoint} for {sinceRead.TotalSeconds:0.#} s (heartbeat {heartbeat.TotalSeconds:0.#} s)."));
                    return;
                }

                if (time.GetElapsedTime(writer.LastWriteTimestamp) >= tick)
                {
                    byte[] command = OutboundCommand.Rent(frame.Length);
                    frame.CopyTo(command, 0);
                    if (!writer.Control.TryEnqueue(new OutboundCommand(command, frame.Length)))
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
