using Nucleon.Pipes.Framing;
using System.Buffers;
using System.Diagnostics;
using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Diagnostics.Tracing;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// The state behind a <see cref="Message"/>: one assembled basic.deliver / basic.get-ok with its body
/// in a pooled buffer. Consumer deliveries are recycled when the consume loop moves on; the
/// <see cref="Token"/> changes on each reuse so a stale <see cref="Message"/> is detected, not misread.
/// </summary>
internal sealed class Delivery
{
    /// <summary>
    /// Bodies up to this size stay in a buffer the (pooled) delivery keeps across reuse: renting
    /// from a shared pool on the reader's thread and returning on the consumer's made the pool's
    /// lock bounce between the two threads on every message.
    /// </summary>
    internal const int KeptBodyLimit = 1024;

    private byte[]? _body;
    private byte[]? _keptBuffer;

    public Delivery(ConsumerState? owner) => Owner = owner;

    /// <summary>The consumer whose pool this delivery returns to, or null for an unpooled one.</summary>
    public ConsumerState? Owner { get; }

    // Bit 0: settled. The other bits: the token, advanced by 2 on each reuse. One field, so that claiming
    // the settlement of a delivery and checking that it still carries the same message are one CAS.
    private int _stamp;

    /// <summary>Changes on each reuse: a <see cref="Message"/> made with another token is stale.</summary>
    public int Token => Volatile.Read(ref _stamp) & ~1;

    public ChannelCore? Channel { get; set; }

    public string ConsumerTag { get; set; } = string.Empty;

    public ulong DeliveryTag { get; set; }

    public bool Redelivered { get; set; }

    public string Exchange { get; set; } = string.Empty;

    public string RoutingKey { get; set; } = string.Empty;

    private BasicProperties? _properties = BasicProperties.Empty; // null: decoded from _rawProperties on first read
    private byte[]? _rawProperties;
    private int _rawLength;

    /// <summary>The message's properties; kept as bytes (see <see cref="KeepRawProperties"/>) they are decoded on first read.</summary>
    public BasicProperties Properties
    {
        get => _properties ?? DecodeRawProperties();
        set
        {
            _properties = value;
            _rawLength = 0;
        }
    }

    /// <summary>The property flags and list as received when they were kept as bytes; empty when they were decoded at once.</summary>
    public ReadOnlySpan<byte> RawProperties => _rawProperties.AsSpan(0, _rawLength);

    /// <summary>
    /// Keeps the property bytes (checked already, see <c>BasicPropertiesCodec.TryWalkPlain</c>) instead of decoding them:
    /// a reader that needs only a field or two (the RPC client's correlation id) makes no strings. The buffer is
    /// kept across reuse, as small bodies are.
    /// </summary>
    public void KeepRawProperties(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(KeptBuffer.Ensure(ref _rawProperties, bytes.Length));
        _rawLength = bytes.Length;
        _properties = null;
    }

    private BasicProperties DecodeRawProperties() => _properties = BasicPropertiesCodec.Read(RawProperties);

    /// <summary>Messages left in the queue (basic.get-ok only).</summary>
    public uint MessageCount { get; set; }

    /// <summary>The broker settles the message itself (no-ack consumer or get).</summary>
    public bool AutoAck { get; set; }

    /// <summary>The stream cursor that tracks this delivery's offset (connection-level stream consumers only).</summary>
    public StreamCursor? Cursor { get; set; }

    /// <summary>This delivery's place in <see cref="Cursor"/>.</summary>
    public long CursorSequence { get; set; }

    // Set only while a listener observes consumption (see ProcessTelemetry): fields, so they can be taken once.
    internal Activity? ProcessSpan;
    internal long ProcessStarted;
    internal Activity? ProcessOuter;

    // Whether the message was acked, nacked or rejected, once it was detached: shared with every Detach()
    // copy, so the original and its copies settle it once between them (a second settle is a 406 from the broker).
    private SettleFlag? _sharedSettled;

    /// <summary>True once the message was acked, nacked or rejected (through this delivery or a detached copy).</summary>
    public bool Settled => (Volatile.Read(ref _stamp) & 1) != 0 || (_sharedSettled is { } shared && Volatile.Read(ref shared.Value) != 0);

    /// <summary>
    /// Marks the message that carries <paramref name="token"/> settled; false if it already was, or if this
    /// delivery carries another message by now. Whoever gets true owns the delivery's release.
    /// </summary>
    public bool TrySettle(int token) =>
        Interlocked.CompareExchange(ref _stamp, token | 1, token) == token
        && (_sharedSettled is not { } shared || Interlocked.Exchange(ref shared.Value, 1) == 0);

    public long BodyLength { get; private set; }

    public long BodyReceived { get; private set; }

    public ReadOnlyMemory<byte> Body => _body is null ? ReadOnlyMemory<byte>.Empty : _body.AsMemory(0, (int)BodyLength);

    /// <summary>Prepares the body buffer for <paramref name="length"/> bytes (checked against the limit by the caller).</summary>
    public void StartBody(long length)
    {
        BodyLength = length;
        BodyReceived = 0;
        if (length == 0)
        {
            _body = null;
        }
        else if (Owner is not null && length <= KeptBodyLimit)
        {
            _body = KeptBuffer.Ensure(ref _keptBuffer, (int)length);
        }
        else
        {
            _body = BufferPool.Rent((int)length);
        }
    }

    /// <summary>Appends a body frame's payload; the caller checked it fits.</summary>
    public void AppendBody(ReadOnlySpan<byte> payload)
    {
        payload.CopyTo(_body.AsSpan((int)BodyReceived));
        BodyReceived += payload.Length;
    }

    public void AppendBody(in ReadOnlySequence<byte> payload)
    {
        payload.CopyTo(_body.AsSpan((int)BodyReceived));
        BodyReceived += payload.Length;
    }

    public bool BodyComplete => BodyReceived == BodyLength;

    /// <summary>A copy that owns its body and is never recycled.</summary>
    public Delivery Detach()
    {
        var copy = new Delivery(null)
        {
            Channel = Channel,
            ConsumerTag = ConsumerTag,
            DeliveryTag = DeliveryTag,
            Redelivered = Redelivered,
            Exchange = Exchange,
            RoutingKey = RoutingKey,
            Properties = Properties,
            MessageCount = MessageCount,
            AutoAck = AutoAck,
            Cursor = Cursor,
            CursorSequence = CursorSequence,
        };
        _sharedSettled ??= new SettleFlag { Value = Volatile.Read(ref _stamp) & 1 };
        copy._sharedSettled = _sharedSettled;
        copy.BodyLength = BodyLength;
        copy.BodyReceived = BodyLength;
        copy._body = Body.ToArray();
        return copy;
    }

    /// <summary>Returns the body buffer and invalidates every <see cref="Message"/> that points here.</summary>
    public void Reset()
    {
        // A span still open (the loop ended, or the message was handed back unread) ends with the message's lifetime.
        ProcessTelemetry.End(this);
        Volatile.Write(ref _stamp, (_stamp & ~1) + 2);
        if (_body is not null && Owner is not null && !ReferenceEquals(_body, _keptBuffer))
        {
            BufferPool.Return(_body);
        }

        _body = null;
        BodyLength = 0;
        BodyReceived = 0;
        Properties = BasicProperties.Empty;
        _sharedSettled = null;
        Channel = null;
        Cursor = null;
    }

    private sealed class SettleFlag
    {
        public int Value;
    }
}
