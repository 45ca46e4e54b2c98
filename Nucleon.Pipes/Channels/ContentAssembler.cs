using System.Buffers;
using Nucleon.Pipes.Consumers;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// Assembles one channel's content-carrying methods (deliver, return, get-ok) with their content
/// header and body frames into a <see cref="Delivery"/>, and refuses frames out of that order.
/// Runs only on the connection's reader task, so it needs no locks.
/// </summary>
internal sealed class ContentAssembler(ChannelCore channel)
{
    private ContentKind _content;
    private bool _expectingBody;
    private Delivery? _assembling;

    // Exchange names and routing keys repeat from message to message: reuse the last string when
    // the bytes match, so a steady stream of deliveries allocates no strings.
    private byte[] _lastExchangeBytes = [];
    private string _lastExchange = string.Empty;
    private byte[] _lastRoutingKeyBytes = [];
    private string _lastRoutingKey = string.Empty;

    // Many streams carry the same properties on every message (a content type, persistent delivery):
    // when a content header's property bytes equal the last one's, the same BasicProperties (immutable)
    // is handed out again instead of decoding a new one. Never with headers: Headers is a dictionary
    // that a consumer may change.
    private const int MaxSharedPropertyBytes = 256;
    private byte[] _lastPropertyBytes = [0, 0]; // no property flags: BasicProperties.Empty
    private BasicProperties _lastProperties = BasicProperties.Empty;

    /// <summary>True between a content-carrying method and the end of its body.</summary>
    public bool InProgress => _content != ContentKind.None;

    /// <summary>basic.return's reply code and text, for the message being assembled.</summary>
    public ushort ReturnCode { get; private set; }

    public string ReturnText { get; private set; } = string.Empty;

    public void StartDeliver(ReadOnlySpan<byte> payload)
    {
        var decoder = new AmqpDecoder(payload[4..]);
        var tag = decoder.ReadShortStringBytes();
        ulong deliveryTag = decoder.ReadLongLong();
        bool redelivered = (decoder.ReadOctet() & 1) != 0;
        var exchange = decoder.ReadShortStringBytes();
        var routingKey = decoder.ReadShortStringBytes();

        // Decode (and validate) everything before taking a pooled delivery, so a bad frame leaks nothing.
        var consumer = channel.Consumers.Find(tag);
        string consumerTag = consumer?.Tag ?? AmqpDecoder.DecodeUtf8(tag, "consumer tag");
        string exchangeName = Cached(exchange, ref _lastExchangeBytes, ref _lastExchange);
        string routingKeyName = Cached(routingKey, ref _lastRoutingKeyBytes, ref _lastRoutingKey);
        var delivery = consumer is not null ? consumer.Rent() : new Delivery(null);
        delivery.Channel = channel;
        delivery.ConsumerTag = consumerTag;
        delivery.DeliveryTag = deliveryTag;
        delivery.Redelivered = redelivered;
        delivery.AutoAck = consumer?.AutoAck ?? false;
        delivery.Exchange = exchangeName;
        delivery.RoutingKey = routingKeyName;
        Start(delivery, ContentKind.Deliver);
    }

    public void StartReturn(in BasicReturn ret)
    {
        ReturnCode = ret.ReplyCode;
        ReturnText = ret.ReplyText;
        Start(new Delivery(null) { Channel = channel, Exchange = ret.Exchange, RoutingKey = ret.RoutingKey }, ContentKind.Return);
    }

    public void StartGetOk(in BasicGetOk ok) =>
        Start(
            new Delivery(null)
            {
                Channel = channel,
                DeliveryTag = ok.DeliveryTag,
                Redelivered = ok.Redelivered,
                Exchange = ok.Exchange,
                RoutingKey = ok.RoutingKey,
                MessageCount = ok.MessageCount,
            },
            ContentKind.GetOk);

    private void Start(Delivery delivery, ContentKind kind)
    {
        _assembling = delivery;
        _content = kind;
    }

    private static string Cached(ReadOnlySpan<byte> bytes, ref byte[] lastBytes, ref string last)
    {
        if (!bytes.SequenceEqual(lastBytes))
        {
            last = AmqpDecoder.DecodeUtf8(bytes, "short string");
            lastBytes = bytes.ToArray();
        }

        return last;
    }

    /// <summary>A content header frame. Returns the message when its body is empty.</summary>
    public Delivery? HandleHeader(ReadOnlySpan<byte> payload, out ContentKind kind)
    {
        var delivery = _assembling;
        if (_content == ContentKind.None || delivery is null || _expectingBody)
        {
            throw new AmqpProtocolException(AmqpReplyCode.UnexpectedFrame, $"A content header arrived on channel {channel.Number} without a method that carries content.");
        }

        var decoder = new AmqpDecoder(payload);
        var (classId, bodySize) = ContentHeader.ReadPrefix(ref decoder);
        if (classId != 60)
        {
            throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"A content header on channel {channel.Number} names class {classId}; only basic (60) carries content.");
        }

        long limit = channel.Session.Options.MaxMessageSize;
        if (bodySize > (ulong)limit || bodySize > int.MaxValue)
        {
            throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"A message of {bodySize} bytes arrived on channel {channel.Number}; MaxMessageSize is {limit}.");
        }

        var propertyBytes = payload[decoder.Position..];
        if (delivery.Owner is { KeepsRawProperties: true } && BasicPropertiesCodec.TryWalkPlain(propertyBytes, out _))
        {
            // Checked, not decoded: the RPC client reads the correlation id from the bytes.
            delivery.KeepRawProperties(propertyBytes);
        }
        else
        {
            delivery.Properties = ReadProperties(propertyBytes, ref decoder);
        }

        delivery.StartBody((long)bodySize);
        _expectingBody = true;
        return Finish(out kind);
    }

    private BasicProperties ReadProperties(ReadOnlySpan<byte> bytes, ref AmqpDecoder decoder)
    {
        if (bytes.SequenceEqual(_lastPropertyBytes))
        {
            return _lastProperties;
        }

        var properties = BasicPropertiesCodec.Read(ref decoder);
        if (properties.Headers is null && bytes.Length <= MaxSharedPropertyBytes)
        {
            if (_lastPropertyBytes.Length != bytes.Length)
            {
                _lastPropertyBytes = new byte[bytes.Length];
            }

            bytes.CopyTo(_lastPropertyBytes);
            _lastProperties = properties;
        }

        return properties;
    }

    /// <summary>A body frame. Returns the message once its body is complete.</summary>
    public Delivery? HandleBody(ReadOnlySpan<byte> payload, out ContentKind kind)
    {
        BodyTarget(payload.Length).AppendBody(payload);
        return Finish(out kind);
    }

    /// <summary>A body frame that spans receive segments. Returns the message once its body is complete.</summary>
    public Delivery? HandleBody(in ReadOnlySequence<byte> payload, out ContentKind kind)
    {
        BodyTarget(payload.Length).AppendBody(payload);
        return Finish(out kind);
    }

    // The message a body frame of this length belongs to; refuses frames out of order or beyond the announced size.
    private Delivery BodyTarget(long length)
    {
        var delivery = _assembling;
        if (!_expectingBody || delivery is null)
        {
            throw new AmqpProtocolException(AmqpReplyCode.UnexpectedFrame, $"A body frame arrived on channel {channel.Number} without a content header before it.");
        }

        if (length > delivery.BodyLength - delivery.BodyReceived)
        {
            throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"Body frames on channel {channel.Number} carry more than the {delivery.BodyLength} bytes the content header announced.");
        }

        return delivery;
    }

    private Delivery? Finish(out ContentKind kind)
    {
        var delivery = _assembling!;
        if (!delivery.BodyComplete)
        {
            kind = ContentKind.None;
            return null;
        }

        kind = _content;
        _assembling = null;
        _content = ContentKind.None;
        _expectingBody = false;
        return delivery;
    }

    /// <summary>The connection is ending: a half-assembled message is released.</summary>
    public void Abandon()
    {
        if (_assembling is { Owner: { } owner } d)
        {
            owner.Recycle(d);
        }

        _assembling = null;
        _content = ContentKind.None;
        _expectingBody = false;
    }
}
