namespace Nucleon.Pipes.Channels;

/// <summary>
/// What a renter can leave behind on a channel that the next renter must not inherit: deliveries
/// handed out but not settled (they would stay unacked, invisible to other consumers, until the
/// channel closes), publishes or acks without a reply whose asynchronous channel error (404 for a
/// missing exchange, 406 for a bad tag) may still be on its way, and nacked confirms (after a
/// failover RabbitMQ can keep nacking one channel while a new one works). A pooled channel goes
/// back to the pool only when this says it is clean, or after a round trip proves it.
/// </summary>
internal sealed class ChannelHygiene
{
    private int _unsettled;
    private volatile bool _settledByMultiple;
    private volatile bool _unsynced;
    private volatile bool _nacked;

    /// <summary>Manual-ack deliveries handed to the application and not yet settled.</summary>
    public int Unsettled => Volatile.Read(ref _unsettled);

    /// <summary>True while commands without a reply were sent since the last proof that the broker took them.</summary>
    public bool Unsynced => _unsynced;

    /// <summary>Nothing left behind (a pending sync aside, see <see cref="Unsynced"/>).</summary>
    public bool IsClean => Volatile.Read(ref _unsettled) == 0 && !_settledByMultiple && !_nacked;

    /// <summary>What makes the channel unclean, for the log; null when <see cref="IsClean"/>.</summary>
    public string? WhyUnclean() =>
        Volatile.Read(ref _unsettled) is > 0 and var unsettled ? $"{unsettled} deliveries handed out and not settled"
        : _settledByMultiple ? "deliveries were settled with multiple=true"
        : _nacked ? "the broker nacked a publish on it"
        : null;

    /// <summary>Reader: a manual-ack delivery was assembled for the application.</summary>
    public void Delivered() => Interlocked.Increment(ref _unsettled);

    /// <summary>A delivery was acked, nacked or rejected (by the application, or handed back unread).</summary>
    /// <remarks>A multiple settle covers an unknown number of deliveries: the channel is no longer provably clean.</remarks>
    public void Settled(bool multiple)
    {
        SentWithoutReply();
        if (multiple)
        {
            _settledByMultiple = true;
        }
        else
        {
            Interlocked.Decrement(ref _unsettled);
        }
    }

    /// <summary>A publish or another command without a reply was queued.</summary>
    public void SentWithoutReply()
    {
        // Read first: publishers on one channel would otherwise bounce this cache line on every message.
        if (!_unsynced)
        {
            _unsynced = true;
        }
    }

    /// <summary>The broker nacked a publish on this channel.</summary>
    public void Nacked() => _nacked = true;

    /// <summary>Called just before a round trip that, once answered, proves every earlier command was taken.</summary>
    public void SyncStarted() => _unsynced = false;
}
