using System.Text;
using System.Threading.Channels;
using Nucleon.Pipes.Channels;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// One basic.consume subscription: its tag, its bounded inbox that the connection's reader fills,
/// and a pool of <see cref="Delivery"/> objects that the consume loop hands back.
/// </summary>
internal sealed class ConsumerState
{
    private readonly Stack<Delivery> _pool = new();
    private readonly int _poolLimit;

    public ConsumerState(ChannelCore channel, string tag, bool autoAck, int inboxCapacity)
    {
        Channel = channel;
        Tag = tag;
        TagUtf8 = Encoding.UTF8.GetBytes(tag);
        AutoAck = autoAck;
        _poolLimit = Math.Min(inboxCapacity + 2, 4096);
        Inbox = System.Threading.Channels.Channel.CreateBounded<Delivery>(new BoundedChannelOptions(inboxCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    public ChannelCore Channel { get; }

    public string Tag { get; }

    public byte[] TagUtf8 { get; }

    public bool AutoAck { get; }

    public Channel<Delivery> Inbox { get; }

    /// <summary>Set once the application cancelled: late deliveries are rejected back to the queue.</summary>
    public volatile bool Cancelled;

    public Delivery Rent()
    {
        lock (_pool)
        {
            if (_pool.Count > 0)
            {
                return _pool.Pop();
            }
        }

        return new Delivery(this);
    }

    public void Recycle(Delivery delivery)
    {
        delivery.Reset();
        lock (_pool)
        {
            if (_pool.Count < _poolLimit)
            {
                _pool.Push(delivery);
            }
        }
    }
}
