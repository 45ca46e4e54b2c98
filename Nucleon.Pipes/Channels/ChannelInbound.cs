using System.Buffers;
using Microsoft.Extensions.Logging;
using Nucleon.Pipes.Consumers;
using Nucleon.Pipes.Diagnostics.Logging;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// The connection's reader side of one channel: every frame for the channel comes through here and
/// is routed to the RPC slot, the confirm tracker, the consumers, the returns, or the channel's own
/// close. Runs only on the reader task, never waits, and never runs application code inline.
/// </summary>
internal sealed class ChannelInbound(ChannelCore channel)
{
    private readonly ContentAssembler _content = new(channel);

    /// <summary>A method frame. Returns a delivery that is complete already (never: content follows), else null.</summary>
    public Delivery? HandleMethod(uint id, ReadOnlySpan<byte> payload)
    {
        if (_content.InProgress)
        {
            throw new AmqpProtocolException(AmqpReplyCode.UnexpectedFrame, $"{Name(id)} arrived on channel {channel.Number} while a message's content frames were expected.");
        }

        switch (id)
        {
            case MethodIds.BasicDeliver:
                _content.StartDeliver(payload);
                return null;
            case MethodIds.BasicAck:
            {
                var ack = MethodFrame.Decode<BasicAck>(payload);
                channel.Confirms?.Confirm(ack.DeliveryTag, ack.Multiple, ack: true);
                return null;
            }

            case MethodIds.BasicNack:
            {
                var nack = MethodFrame.Decode<BasicNack>(payload);
                PublisherLog.Nacked(channel.Session.Owner.Loggers.Publisher, nack.DeliveryTag, nack.Multiple, channel.Number);
                channel.Hygiene.Nacked();
                int nacked = channel.Confirms?.Confirm(nack.DeliveryTag, nack.Multiple, ack: false) ?? 0;
                channel.Session.Owner.Metrics.Nacked(channel.Session, nacked);
                return null;
            }

            case MethodIds.BasicReturn:
                _content.StartReturn(MethodFrame.Decode<BasicReturn>(payload));
                return null;
            case MethodIds.BasicGetOk:
                _content.StartGetOk(MethodFrame.Decode<BasicGetOk>(payload));
                return null;
            case MethodIds.BasicCancel:
            {
                var cancel = MethodFrame.Decode<BasicCancel>(payload);
                channel.Consumers.HandleServerCancel(cancel);
                if (!cancel.NoWait)
                {
                    channel.Queue.TryEnqueue(channel.Encode(new BasicCancelOk(cancel.ConsumerTag)));
                }

                return null;
            }

            case MethodIds.ChannelClose:
                HandleServerClose(MethodFrame.Decode<ChannelClose>(payload));
                return null;
            case MethodIds.ChannelFlow:
            {
                var flow = MethodFrame.Decode<ChannelFlow>(payload);
                PublisherLog.Flow(channel.Session.Owner.Loggers.Publisher, channel.Number, flow.Active);
                channel.Publisher.SetFlow(flow.Active);
                channel.Queue.TryEnqueue(channel.Encode(new ChannelFlowOk(flow.Active)));
                return null;
            }

            default:
                var rpc = channel.Rpc;
                if (!rpc.Expects(id) && rpc.IsWaiting)
                {
                    throw new AmqpProtocolException(AmqpReplyCode.CommandInvalid, $"{Name(id)} arrived on channel {channel.Number}, which waits for {Name(rpc.ExpectedId)}.");
                }

                if (!rpc.TryComplete(id, payload))
                {
                    throw new AmqpProtocolException(AmqpReplyCode.CommandInvalid, $"Unexpected {Name(id)} on channel {channel.Number}: no request is waiting for it.");
                }

                return null;
        }
    }

    /// <summary>A content header frame. Returns a consumer's delivery when its body is empty.</summary>
    public Delivery? HandleHeader(ReadOnlySpan<byte> payload) => Completed(_content.HandleHeader(payload, out var kind), kind);

    /// <summary>A body frame. Returns a consumer's delivery once its body is complete.</summary>
    public Delivery? HandleBody(ReadOnlySpan<byte> payload) => Completed(_content.HandleBody(payload, out var kind), kind);

    /// <summary>A body frame that spans receive segments.</summary>
    public Delivery? HandleBody(in ReadOnlySequence<byte> payload) => Completed(_content.HandleBody(payload, out var kind), kind);

    /// <summary>The connection is ending: a half-assembled message is released.</summary>
    public void AbandonContent() => _content.Abandon();

    private static string Name(uint id) => MethodNames.Name((ushort)(id >> 16), (ushort)id);

    // Routes a complete message: deliveries go back to the reader for dispatch, the rest end here.
    private Delivery? Completed(Delivery? delivery, ContentKind kind)
    {
        if (delivery is null)
        {
            return null;
        }

        switch (kind)
        {
            case ContentKind.Deliver:
                if (!delivery.AutoAck)
                {
                    channel.Hygiene.Delivered();
                }

                return delivery;
            case ContentKind.GetOk:
                CompleteGet(delivery);
                return null;
            default:
                OnReturned(delivery);
                return null;
        }
    }

    private void CompleteGet(Delivery delivery)
    {
        var rpc = channel.Rpc;
        delivery.AutoAck = rpc.GetAutoAck;
        if (!delivery.AutoAck)
        {
            channel.Hygiene.Delivered();
        }

        if (rpc.IsWaiting)
        {
            rpc.Content = delivery;
            rpc.TryComplete(MethodIds.BasicGetOk, ReadOnlySpan<byte>.Empty);
        }
        else
        {
            // The caller gave up on this get: hand the message back rather than leave it unacked
            // (an auto-acked one is the broker's no more; rejecting its tag would be a 406).
            channel.RejectUnread(delivery);
            rpc.TryComplete(MethodIds.BasicGetOk, ReadOnlySpan<byte>.Empty);
        }
    }

    private void OnReturned(Delivery delivery)
    {
        channel.Session.Owner.Metrics.Returned(channel.Session, delivery.Exchange);
        var log = channel.Session.Owner.Loggers.Publisher;
        if (log.IsEnabled(LogLevel.Debug))
        {
            PublisherLog.Returned(log, delivery.Exchange, delivery.RoutingKey, channel.Number, _content.ReturnCode, _content.ReturnText);
        }

        if (channel.Confirms is { } confirms)
        {
            confirms.Returned(new AmqpMessageReturnedException(_content.ReturnCode, _content.ReturnText, delivery.Exchange, delivery.RoutingKey, delivery.Properties));
            return;
        }

        if (channel.ReturnHandler is { } handler)
        {
            var returned = new ReturnedMessage(_content.ReturnCode, _content.ReturnText, delivery.Exchange, delivery.RoutingKey, delivery.Properties, delivery.Body.ToArray());
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
            channel.Session.Owner.ReportCallbackFailure($"OnReturn handler on channel {channel.Number}", ex);
        }
    }

    private void HandleServerClose(ChannelClose close)
    {
        var error = new AmqpChannelException(close.ReplyCode, close.ReplyText, close.FailingClassId, close.FailingMethodId);
        var session = channel.Session;
        ChannelLog.ClosedByBroker(session.Owner.Loggers.Channel, channel.Number, session.Generation, session.Endpoint, close.ReplyCode, close.ReplyText,
            MethodNames.Name(close.FailingClassId, close.FailingMethodId), close.FailingClassId, close.FailingMethodId);
        channel.MarkClosed(error, graceful: false);
        // Frames still queued would reach a channel the broker considers closed: drop them, answer close-ok,
        // and only then let the channel number be reused.
        channel.Queue.ReplaceWithCloseOk(channel.Encode(new ChannelCloseOk()), () => channel.Session.ReleaseChannel(channel));
    }
}
