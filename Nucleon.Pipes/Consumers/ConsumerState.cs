using System.Text;
using Nucleon.Pipes.Channels;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// One basic.consume subscription: its tag, the inbox that the connection's reader fills,
/// and a pool of <see cref="Delivery"/> objects that the consume loop hands back.
/// </summary>
internal sealed class ConsumerState
{
    // What a burst may make the pool keep at most, beside the overflow's own byte budget.
    private const int MaxBurstPool = 1 << 20;
    private int _readerClaimed;
    private int _stopping;

    public ConsumerState(ChannelCore channel, string tag, bool autoAck, int inboxCapacity, long overflowByteLimit, TimeProvider time)
    {
        Channel = channel;
        Tag = tag;
        TagUtf8 = Encoding.UTF8.GetBytes(tag);
        AutoAck = autoAck;
        var inbox = new DeliveryInbox(inboxCapacity, overflowByteLimit);
        Inbox = inbox;
        // Live at once: the inbox's ring, the message being assembled and the one in hand; with manual acks also the
        // messages a multiple ack has just settled, which the loop takes back at its next step while the broker
        // already sends their successors (keeping only the ring's worth made a consumer acking every 100th message
        // allocate 8-10 B per message on the null broker).
        int baseLimit = Math.Min((autoAck ? inboxCapacity : 2 * inboxCapacity) + 2, 8192);
        Pool = new DeliveryPool(this, baseLimit, baseLimit + (int)Math.Min(overflowByteLimit / DeliveryInbox.MessageOverhead, MaxBurstPool), time,
            onCalm: inbox.TrimOverflow);
        OverflowByteLimit = overflowByteLimit;
    }

    public ChannelCore Channel { get; }

    public string Tag { get; }

    /// <summary>The queue subscribed to (for the log, the metrics and the spans).</summary>
    public string Queue { get; init; } = string.Empty;

    /// <summary>Properties without headers reach this consumer as bytes, decoded on first read (see <see cref="ConsumeOptions"/>).</summary>
    public bool KeepsRawProperties { get; init; }

    public byte[] TagUtf8 { get; }

    public bool AutoAck { get; }

    public DeliveryInbox Inbox { get; }

    /// <summary>The deliveries this consumer recycles.</summary>
    public DeliveryPool Pool { get; }

    /// <summary>Tracks the stream offsets handed out and settled, for a connection-level stream consumer.</summary>
    public StreamCursor? Cursor { get; set; }

    /// <summary>Bytes that may wait in the overflow, past the inbox, before the consumer is cancelled.</summary>
    public long OverflowByteLimit { get; }

    /// <summary>Set once the consumer is being cancelled: late deliveries are rejected back to the queue.</summary>
    public volatile bool Cancelled;

    /// <summary>The application cancelled: the consume loop hands its unread deliveries back instead of reading them.</summary>
    public volatile bool HandBackUnread;

    /// <summary>
    /// The inbox has one reader. Whoever claims it first (a consume loop, or a cancel that found no
    /// loop) is the only one that ever reads it, so unread deliveries are never drained from another
    /// thread while a loop reads.
    /// </summary>
    public bool TryClaimReader() => Interlocked.Exchange(ref _readerClaimed, 1) == 0;

    /// <summary>True for the first caller only: basic.cancel is sent once.</summary>
    public bool TryBeginStop() => Interlocked.Exchange(ref _stopping, 1) == 0;

    public Delivery Rent() => Pool.Rent();

    /// <summary>A handed-out manual-ack delivery was settled: it returns to the pool.</summary>
    public void Release(Delivery delivery) => Recycle(delivery);

    public void Recycle(Delivery delivery) => Pool.Recycle(delivery);
}
