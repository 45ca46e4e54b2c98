namespace Nucleon.Pipes.Rpc;

/// <summary>
/// One RPC client's channel on one connection: the consumer of <c>amq.rabbitmq.reply-to</c> and the
/// loop that hands its replies to the calls in flight. RabbitMQ sends direct replies only to the
/// channel that published the request, so requests go out on this same channel. When the channel
/// or its connection goes, every call sent on it fails with that error, and the client opens a new
/// link for the next call.
/// </summary>
internal sealed class RpcLink
{
    /// <summary>The pseudo-queue of RabbitMQ's direct reply-to.</summary>
    public const string DirectReplyTo = "amq.rabbitmq.reply-to";

    private readonly RpcCallTable _calls;
    private Exception? _failure;
    private Task _dispatch = Task.CompletedTask;

    private RpcLink(MessageChannel channel, AmqpConsumer replies, RpcCallTable calls)
    {
        Channel = channel;
        Replies = replies;
        _calls = calls;
    }

    public MessageChannel Channel { get; }

    public AmqpConsumer Replies { get; }

    /// <summary>Why the link is gone; null while it works.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>True while new calls may be sent on it.</summary>
    public bool IsUsable => Volatile.Read(ref _failure) is null && Channel.IsOpen;

    /// <summary>Opens a channel, subscribes to direct reply-to on it and starts handing out replies.</summary>
    public static async Task<RpcLink> OpenAsync(AmqpConnection connection, RpcCallTable calls, CancellationToken cancellationToken)
    {
        var channel = await connection.AllocateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            // A mandatory request nobody could receive comes back: its call fails at once instead of timing out.
            channel.OnReturn(returned => calls.Fail(returned.Properties.CorrelationId, new AmqpMessageReturnedException(
                returned.ReplyCode, returned.ReplyText, returned.Exchange, returned.RoutingKey, returned.Properties)));
            // Direct reply-to needs no-ack; the subscription must exist before the first request names it.
            // Replies' properties stay bytes until a caller reads them: finding the call needs only the correlation id.
            var replies = await channel.BasicConsumeAsync(DirectReplyTo, new ConsumeOptions { AutoAck = true, KeepRawProperties = true }, cancellationToken).ConfigureAwait(false);
            var link = new RpcLink(channel, replies, calls);
            link._dispatch = link.DispatchAsync();
            return link;
        }
        catch
        {
            await channel.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Marks the link gone and fails every call sent on it; only the first reason counts.</summary>
    public void Fail(Exception reason)
    {
        Interlocked.CompareExchange(ref _failure, reason, null);
        _calls.FailAll(this, Failure!);
    }

    /// <summary>Ends the link: calls in flight fail with <paramref name="reason"/>, the subscription and channel close.</summary>
    public async Task CloseAsync(Exception reason)
    {
        Fail(reason);
        try
        {
            await Replies.CancelAsync().ConfigureAwait(false);
        }
        catch (AmqpException)
        {
            // The channel is gone already.
        }

        await _dispatch.ConfigureAwait(false);
        await Channel.DisposeAsync().ConfigureAwait(false);
    }

    private async Task DispatchAsync()
    {
        // Off the opener's thread: the loop lives as long as the channel.
        await Task.Yield();
        Exception reason;
        try
        {
            await foreach (var reply in Replies.Messages.ConfigureAwait(false))
            {
                var raw = reply.RawProperties;
                if (raw.IsEmpty)
                {
                    // Decoded on arrival (the reply carries headers).
                    _calls.Deliver(reply.Properties.CorrelationId, reply.Body.Span, reply.Properties);
                }
                else
                {
                    _calls.DeliverRaw(raw, reply.Body.Span);
                }
            }

            reason = new AmqpChannelClosedException("The RPC client's reply subscription ended.");
        }
        catch (Exception ex)
        {
            reason = ex;
        }

        Fail(reason);
        if (Channel.IsOpen)
        {
            // The broker cancelled the subscription but the channel lives: close it, the next call opens a new link.
            await Channel.DisposeAsync().ConfigureAwait(false);
        }
    }
}
