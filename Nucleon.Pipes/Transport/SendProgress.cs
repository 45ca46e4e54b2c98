namespace Nucleon.Pipes.Transport;

/// <summary>
/// Lets the connection's writer skip a flush while the send loop is busy with the previous one. A flush
/// only makes bytes visible to the send loop, which cannot take them before its current socket write
/// returns; flushing after every small publish cost a pipe commit (a lock) each time. What the writer
/// buffers meanwhile is flushed when the send loop comes back for more (<see cref="SendFinished"/> asks for it).
/// </summary>
internal sealed class SendProgress
{
    private int _sending;  // 1 while the send loop holds bytes it took from the pipe
    private int _deferred; // 1 while a flush the writer skipped is owed
    private Action? _flushNeeded;

    /// <summary>Called (on the send loop) when a skipped flush is due. Set once, by the writer.</summary>
    public void OnFlushNeeded(Action flushNeeded) => _flushNeeded = flushNeeded;

    /// <summary>Send loop: it took bytes from the pipe and is writing them to the socket.</summary>
    public void SendStarted() => Volatile.Write(ref _sending, 1);

    /// <summary>Send loop: the socket write returned; it is about to wait for more.</summary>
    public void SendFinished()
    {
        Interlocked.Exchange(ref _sending, 0);
        if (Interlocked.Exchange(ref _deferred, 0) == 1)
        {
            _flushNeeded?.Invoke();
        }
    }

    /// <summary>
    /// Writer: true when it may skip this flush because the send loop is busy and will ask for it
    /// (<see cref="OnFlushNeeded"/>); false means flush now.
    /// </summary>
    public bool TryDefer()
    {
        if (Volatile.Read(ref _sending) == 0)
        {
            return false;
        }

        // Announce the debt, then look again (both full fences): either the send loop sees the debt when it
        // finishes, or this sees that it finished.
        Interlocked.Exchange(ref _deferred, 1);
        if (Volatile.Read(ref _sending) == 1)
        {
            return true;
        }

        // It finished meanwhile: if it already took the debt it will ask for the flush; else take the debt back and flush now.
        return Interlocked.Exchange(ref _deferred, 0) == 0;
    }
}
