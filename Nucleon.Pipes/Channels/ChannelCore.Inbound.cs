using System.Runtime.CompilerServices;
using System.Buffers;
using System.Threading.Channels;
using Nucleon.Pipes.Consumers;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Channels;

// The reader task's side of a channel. Everything here runs on the connection's single reader,
// so the content-assembly fields need no locks.
internal sealed partial class ChannelCore
{
    private ContentKind _content;
    private bool _expectingBody;
    private Delivery? _assembling;
    private ushort _returnCode;
    private string _returnText = string.Empty;

    // Exchange names and routing keys repeat from message to message: reuse the last string when
    // the bytes match, so a steady stream of deliveries allocates no strings.
    private byte[] _lastExchangeBytes = [];
    private string _lastExchange = string.Empty;
    private byte[] _lastRoutingKeyBytes = [];
    private string _lastRoutingKey = string.Empty;

    private enum ContentKind : byte
    {
        None,
        Deliver,
        Return,
        GetOk,
    }

    /// <summary>Reader: a method frame for this channel. Returns a delivery that is complete already (empty body), else null.</summary>
    public Delivery? HandleMethod(uint id, ReadOnlySpan<byte> payload)
    {
        if (_content != ContentKind.None)
        {
            throw new AmqpProtocolException(AmqpReplyCode.UnexpectedFrame, $"{Name(id)} arrived on channel {Number} while a message's content frames were expected.");
        }

        switch (id)
        {
            case MethodIds.BasicDeliver:
                StartDeliver(payload);
                return null;
            case MethodIds.BasicAck:
            {
                var ack = MethodFrame.Decode<BasicAck>(payload);
                Confirms?.Confirm(ack.DeliveryTag, ack.Multiple, ack: true);
                return null;
            }

            case MethodIds.BasicNack:
            {
                var nack = MethodFrame.Decode<BasicNack>(payload);
                Confirms?.Confirm(nack.DeliveryTag, nack.Multiple, ack: false);
                return null;
            }

            case MethodIds.BasicReturn:
            {
                var ret = MethodFrame.Decode<BasicReturn>(payload);
                _returnCode = ret.ReplyCode;
                _returnText = ret.ReplyText;
                _assembling = new Delivery(null) { Channel = this, Exchange = ret.Exchange, RoutingKey = ret.RoutingKey };
                _content = ContentKind.Return;
                return null;
            }

            case MethodIds.BasicGetOk:
            {
                var ok = MethodFrame.Decode<BasicGetOk>(payload);
                _assembling = new Delivery(null)
                {
                    Channel = this,
                    DeliveryTag = ok.DeliveryTag,
                    Redelivered = ok.Redelivered,
                    Exchange = ok.Exchange,
                    RoutingKey = ok.RoutingKey,
                    MessageCount = ok.MessageCount,
                };
                _content = ContentKind.GetOk;
                return null;
            }

            case MethodIds.BasicCancel:
                HandleServerCancel(MethodFrame.Decode<BasicCancel>(payload));
                return null;
            case MethodIds.ChannelClose:
                HandleServerClose(MethodFrame.Decode<ChannelClose>(payload));
                return null;
            case MethodIds.ChannelFlow:
            {
                var flow = MethodFrame.Decode<ChannelFlow>(payload);
                SetFlow(flow.Active);
                Queue.TryEnqueue(Encode(new ChannelFlowOk(flow.Active)));
                return null;
            }

            default:
                if (!Rpc.Expects(id) && Rpc.IsWaiting)
                {
                    throw new AmqpProtocolException(AmqpReplyCode.CommandInvalid, $"{Name(id)} arrived on channel {Number}, which waits for {Name(Rpc.ExpectedId)}.");
                }

                if (!Rpc.TryComplete(id, payload))
                {
                    throw new AmqpProtocolException(AmqpReplyCode.CommandInvalid, $"Unexpected {Name(id)} on channel {Number}: no request is waiting for it.");
                }

                return null;
        }
    }

    private static string Name(uint id) => MethodNames.Name((ushort)(id >> 16), (ushort)id);

    private void StartDeliver(ReadOnlySpan<byte> payload)
    {
        var decoder = new AmqpDecoder(payload[4..]);
        var tag = decoder.ReadShortStringBytes();
        ulong deliveryTag = decoder.ReadLongLong();
        bool redelivered = (decoder.ReadOctet() & 1) != 0;
        var exchange = decoder.ReadShortStringBytes();
        var routingKey = decoder.ReadShortStringBytes();

        // Decode (and validate) everything before taking a pooled delivery, so a bad frame leaks nothing.
        var consumer = Consumers.Find(tag);
        string consumerTag = consumer?.Tag ?? AmqpDecoder.DecodeUtf8(tag, "consumer tag");
        string exchangeName = Cached(exchange, ref _lastExchangeBytes, ref _lastExchange);
        string routingKeyName = Cached(routingKey, ref _lastRoutingKeyBytes, ref _lastRoutingKey);
        var delivery = consumer is not null ? consumer.Rent() : new Delivery(null);
        delivery.Channel = this;
        delivery.ConsumerTag = consumerTag;
        delivery.DeliveryTag = deliveryTag;
        delivery.Redelivered = redelivered;
        delivery.AutoAck = consumer?.AutoAck ?? false;
        delivery.Exchange = exchangeName;
        delivery.RoutingKey = routingKeyName;
        _assembling = delivery;
        _content = ContentKind.Deliver;
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

    /// <summary>Reader: a content header frame. Returns the delivery when its body is empty.</summary>
    public Delivery? HandleHeader(ReadOnlySpan<byte> payload)
    {
        var delivery = _assembling;
        if (_content == ContentKind.None || delivery is null || _expectingBody)
        {
            throw new AmqpProtocolException(AmqpReplyCode.UnexpectedFrame, $"A content header arrived on channel {Number} without a method that carries content.");
        }

        var decoder = new AmqpDecoder(payload);
        var (classId, bodySize) = ContentHeader.ReadPrefix(ref decoder);
        if (classId != 60)
        {
            throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"A content header on channel {Number} names class {classId}; only basic (60) carries content.");
        }

        long limit = Session.Options.MaxMessageSize;
        if (bodySize > (ulong)limit || bodySize > int.MaxValue)
        {
            throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"A message of {bodySize} bytes arrived on channel {Number}; MaxMessageSize is {limit}.");
        }

        delivery.Properties = BasicPropertiesCodec.Read(ref decoder);
        delivery.StartBody((long)bodySize);
        _expectingBody = true;
        return delivery.BodyComplete ? Finish() : null;
    }

    /// <summary>Reader: a body frame. Returns the delivery once its body is complete.</summary>
    public Delivery? HandleBody(in ReadOnlySequence<byte> payload)
    {
        var delivery = _assembling;
        if (!_expectingBody || delivery is null)
        {
            throw new AmqpProtocolException(AmqpReplyCode.UnexpectedFrame, $"A body frame arrived on channel {Number} without a content header before it.");
        }

        if (payload.Length > delivery.BodyLength - delivery.BodyReceived)
        {
            throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"Body frames on channel {Number} carry more than the {delivery.BodyLength} bytes the content header announced.");
        }

        delivery.AppendBody(payload);
        return delivery.BodyComplete ? Finish() : null;
    }

    private Delivery? Finish()
    {
        var delivery = _assembling!;
        var kind = _content;
        _assembling = null;
        _content = ContentKind.None;
        _expectingBody = false;
        switch (kind)
        {
            case ContentKind.Deliver:
                return delivery;
            case ContentKind.GetOk:
                delivery.AutoAck = Rpc.GetAutoAck;
                if (Rpc.IsWaiting)
                {
                    Rpc.Content = delivery;
                    Rpc.TryComplete(MethodIds.BasicGetOk, ReadOnlySpan<byte>.Empty);
                }
                else
                {
                    // The caller gave up on this get: hand the message back rather than leave it unacked
                    // (an auto-acked one is the broker's no more; rejecting its tag would be a 406).
                    RejectUnread(delivery);
                    Rpc.TryComplete(MethodIds.BasicGetOk, ReadOnlySpan<byte>.Empty);
                }

                return null;
            default:
                OnReturned(delivery);
                return null;
        }
    }

    private void OnReturned(Delivery delivery)
    {
        if (Confirms is { } confirms)
        {
            confirms.Returned(new AmqpMessageReturnedException(_returnCode, _returnText, delivery.Exchange, delivery.RoutingKey));
            return;
        }

        if (ReturnHandler is { } handler)
        {
            var returned = new ReturnedMessage(_returnCode, _returnText, delivery.Exchange, delivery.RoutingKey, delivery.Properties, delivery.Body.ToArray());
            // Never run application code on the reader, and never unguarded.
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Item1.RunReturnHandler(s.handler, s.returned), (this, handler, returned), preferLocal: false);
        }
    }

    private void RunReturnHandler(Action<ReturnedMessage> handler, ReturnedMessage returned)
    {
        try
        {
            handler(returned);
        }
        catch (Exception ex)
        {
            Session.Owner.ReportCallbackFailure($"OnReturn handler on channel {Number}", ex);
        }
    }

    /// <summary>Reader: hands a complete delivery to its consumer (never waits; see <see cref="ConsumerRegistry.Dispatch"/>).</summary>
    public ValueTask DispatchAsync(Delivery delivery)
    {
        Consumers.Dispatch(delivery);
        return ValueTask.CompletedTask;
    }

    private void HandleServerCancel(BasicCancel cancel)
    {
        Consumers.HandleServerCancel(cancel);
        if (!cancel.NoWait)
        {
            Queue.TryEnqueue(Encode(new BasicCancelOk(cancel.ConsumerTag)));
        }
    }

    private void HandleServerClose(ChannelClose close)
    {
        var error = new AmqpChannelException(close.ReplyCode, close.ReplyText, close.FailingClassId, close.FailingMethodId);
        MarkClosed(error, graceful: false);
        // Frames still queued would reach a channel the broker considers closed: drop them, answer close-ok,
        // and only then let the channel number be reused.
        Queue.ReplaceWithCloseOk(Encode(new ChannelCloseOk()), () => Session.ReleaseChannel(this));
    }

    /// <summary>Reader: the content of an abandoned assembly (connection ending) is released.</summary>
    public void AbandonContent()
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
