using System.Collections.Concurrent;
using System.Text;
using Nucleon.Pipes.Channels;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// One basic.consume subscription: its tag, its bounded inbox that the connection's reader fills,
/// and a pool of <see cref="Delivery"/> objects that the consume loop hands back.
/// </summary>
internal sealed class ConsumerState
{
    // Rented on the connection's reader thread, recycled on the consumer's: a lock-free queue, since
    // a lock here was contended on every message.
    private readonly ConcurrentQueue<Delivery> _pool = new();
    private readonly int _poolLimit;
    private int _pooled;

    public ConsumerState(ChannelCore channel, string tag, bool autoAck, int inboxCapacity)
    {
        Channel = channel;
        Tag = tag;
        TagUtf8 = Encoding.UTF8.GetBytes(tag);
        AutoAck = autoAck;
        _poolLimit = Math.Min(inboxCapacity + 2, 4096);
        Inbox = new DeliveryInbox(inboxCapacity);
    }

    public ChannelCore Channel { get; }

    public string Tag { get; }

    public byte[] TagUtf8 { get; }

    public bool AutoAck { get; }

    public DeliveryInbox Inbox { get; }

    /// <summary>Set once the application cancelled: late deliveries are rejected back to the queue.</summary>
    public volatile bool Cancelled;

    public Delivery Rent()
    {
        if (_pool.TryDequeue(out var delivery))
        {
            Interlocked.Decrement(ref _pooled);
            return delivery;
        }

        return new Delivery(this);
    }

    public void Recycle(Delivery delivery)
    {
        delivery.Reset();
        if (Interlocked.Increment(ref _pooled) <= _poolLimit)
        {
            _pool.Enqueue(delivery);
        }
        else
        {
            Interlocked.Decrement(ref _pooled);
        }
    }
}
