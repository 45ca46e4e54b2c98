using System.Runtime.CompilerServices;
using System.Buffers;
using Nucleon.Pipes.Connection;
using Nucleon.Pipes.Consumers;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// One AMQP channel on one physical connection: its state (opening, open, closing, closed), its
/// synchronous calls through the <see cref="RpcSlot"/>, settlements and basic.get. The other jobs
/// live in their own parts: <see cref="ChannelPublisher"/> (publishing), <see cref="ConfirmTracker"/>
/// (publisher confirms), <see cref="ConsumerRegistry"/> (consumers), <see cref="ChannelInbound"/>
/// (the reader's side) and <see cref="ChannelHygiene"/> (what renters leave behind). Public channel
/// objects are thin facades over this; a core is opened once and never reopened, so a closed core
/// stays closed.
/// </summary>
internal sealed class ChannelCore : IDisposable
{
    private const int Opening = 0, Open = 1, Closing = 2, Closed = 3;

    private int _state;
    private Exception? _closeReason;

    public ChannelCore(ConnectionSession session, ushort number, ChannelOptions options)
    {
        Session = session;
        Number = number;
        Options = options;
        Queue = session.Writer.CreateQueue(number, session.Options.ChannelOutboundCapacity, session.Options.ChannelOutboundBytes);
        Consumers = new ConsumerRegistry(this);
        Publisher = new ChannelPublisher(this);
        Inbound = new ChannelInbound(this);
        if (options.PublisherConfirms)
        {
            Confirms = new ConfirmTracker(session.Options.MaxOutstandingConfirms);
        }
    }

    public ConnectionSession Session { get; }

    public ushort Number { get; }

    public ChannelOptions Options { get; }

    public OutboundQueue Queue { get; }

    public RpcSlot Rpc { get; } = new();

    public ConsumerRegistry Consumers { get; }

    public ChannelPublisher Publisher { get; }

    /// <summary>The connection's reader side of this channel.</summary>
    public ChannelInbound Inbound { get; }

    /// <summary>What renters left behind (see <see cref="ChannelHygiene"/>).</summary>
    public ChannelHygiene Hygiene { get; } = new();

    public ConfirmTracker? Confirms { get; private set; }

    public bool IsOpen => Volatile.Read(ref _state) == Open;

    /// <summary>Why the channel closed (null while open).</summary>
    public Exception? CloseReason => Volatile.Read(ref _closeReason);

    /// <summary>Set by methods that change channel-wide state (qos, flow, tx): such a channel is not pooled again.</summary>
    public bool Dirty { get; set; }

    /// <summary>Mandatory messages returned on a channel without confirms are reported here.</summary>
    public Action<ReturnedMessage>? ReturnHandler { get; set; }

    /// <summary>Can this channel go back to a pool for another renter (after a sync when <see cref="ChannelHygiene.Unsynced"/>)?</summary>
    public bool IsReusable =>
        IsOpen && !Dirty && Session.IsCurrent && Consumers.Count == 0 && ReturnHandler is null && Hygiene.IsClean
        && (Confirms is null || Confirms.Outstanding == 0) && !Rpc.IsWaiting;

    /// <summary>A no-op round trip (channel.flow active=true): once answered, every command sent before it was taken.</summary>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        Hygiene.SyncStarted();
        await CallAsync<ChannelFlow, ChannelFlowOk>(new ChannelFlow(true), cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ sending

    /// <summary>Encodes one method frame into a rented buffer.</summary>
    public OutboundCommand Encode<T>(in T method) where T : struct, IAmqpMethod<T> => OutboundCommand.ForMethod(Number, method);

    /// <summary>Sends a method that has no reply (acks, nowait variants).</summary>
    public ValueTask SendAsync<T>(in T method, CancellationToken cancellationToken) where T : struct, IAmqpMethod<T>
    {
        ThrowIfUnusable();
        Hygiene.SentWithoutReply();
        return Queue.EnqueueAsync(Encode(method), cancellationToken);
    }

    /// <summary>Sends a synchronous method and decodes its reply (one outstanding per channel).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<TReply> CallAsync<TRequest, TReply>(TRequest request, CancellationToken cancellationToken)
        where TRequest : struct, IAmqpMethod<TRequest>
        where TReply : struct, IAmqpMethod<TReply>
    {
        await SendRequestAsync(request, Id<TReply>(), 0, cancellationToken).ConfigureAwait(false);
        try
        {
            await Rpc.WaitAsync().ConfigureAwait(false);
            return MethodFrame.Decode<TReply>(Rpc.Reply);
        }
        finally
        {
            Rpc.Leave();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendRequestAsync<TRequest>(TRequest request, uint reply1, uint reply2, CancellationToken cancellationToken, bool getAutoAck = false)
        where TRequest : struct, IAmqpMethod<TRequest>
    {
        await Rpc.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Rpc.GetAutoAck = getAutoAck;
            // Only OpenAsync can issue requests while the channel is opening: nobody else holds it yet.
            ThrowIfUnusable(allowOpening: true, allowClosing: Id<TRequest>() == MethodIds.ChannelClose);
            Rpc.Arm(reply1, reply2, cancellationToken);
            await Queue.EnqueueAsync(Encode(request), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Rpc.Disarm();
            throw;
        }
    }

    public static uint Id<T>() where T : struct, IAmqpMethod<T> => ((uint)T.ClassId << 16) | T.MethodId;

    /// <summary>basic.ack / basic.nack / basic.reject for a delivery of this channel.</summary>
    public ValueTask SettleAsync(SettleKind kind, ulong deliveryTag, bool multiple, bool requeue, CancellationToken cancellationToken)
    {
        if (!IsOpen)
        {
            throw CloseReason is AmqpConnectionLostException lost
                ? new AmqpConnectionLostException($"Delivery {deliveryTag} cannot be settled: its connection was lost, so the broker will redeliver it.", lost)
                : ClosedError();
        }

        if (multiple)
        {
            RaiseSettledThrough(deliveryTag);
        }

        Hygiene.Settled(multiple);

        var command = kind switch
        {
            SettleKind.Ack => Encode(new BasicAck(deliveryTag, multiple)),
            SettleKind.Nack => Encode(new BasicNack(deliveryTag, multiple, requeue)),
            _ => Encode(new BasicReject(deliveryTag, requeue)),
        };
        return Queue.EnqueueAsync(command, cancellationToken);
    }

    private ulong _settledThrough;

    /// <summary>Every delivery tag up to this one was settled by a multiple ack or nack.</summary>
    public ulong SettledThrough => Volatile.Read(ref _settledThrough);

    private void RaiseSettledThrough(ulong tag)
    {
        ulong current;
        while ((current = Volatile.Read(ref _settledThrough)) < tag
            && Interlocked.CompareExchange(ref _settledThrough, tag, current) != current)
        {
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /// <summary>Created but channel.open not sent yet.</summary>
    public bool IsNew => Volatile.Read(ref _state) == Opening && _opening is null;

    // The open and close exchanges with the broker. They run to the end whatever the caller's token
    // says: a caller who gives up only stops waiting, and the channel number stays reserved until the
    // broker's answer arrives (freeing it earlier lets the next open reuse a number the broker still
    // knows, and the connection dies with 504 or 503).
    private Task? _opening;
    private Task? _closing;

    /// <summary>Closes the channel in the background (used by the pools for channels they drop). Never throws.</summary>
    public void Discard()
    {
        if (_opening is { IsCompleted: false })
        {
            // channel.open is on its way: the open's own continuation closes the channel once it is answered.
            return;
        }

        if (Volatile.Read(ref _state) == Opening)
        {
            // Never opened on the broker (or failed to): just free the number.
            MarkClosed(new AmqpChannelClosedException($"Channel {Number} was discarded."), graceful: true);
            Session.ReleaseChannel(this);
            return;
        }

        if (IsOpen)
        {
            _ = CloseQuietlyAsync();
        }
    }

    private async Task CloseQuietlyAsync()
    {
        try
        {
            await CloseAsync(AmqpReplyCode.Success, "Goodbye", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmqpException or OperationCanceledException)
        {
        }
    }

    /// <summary>Called by the object pool for channels it does not keep.</summary>
    public void Dispose()
    {
        if (IsReusable)
        {
            // Healthy, so the pool refused it for want of room.
            Diagnostics.Logging.PooledChannelDiscard.Log(this, $"the pool already holds {Session.Options.ChannelPoolSize} channels (ChannelPoolSize)");
        }

        Discard();
    }

    /// <summary>Opens the channel (channel.open, and confirm.select for a confirm channel).</summary>
    /// <remarks>If <paramref name="cancellationToken"/> fires after channel.open was queued, the channel is closed once the broker has answered.</remarks>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Session.ChannelOpenCount);
        var opening = _opening = OpenOnBrokerAsync();
        try
        {
            await opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Also when the open completed just after the throw: the caller got no channel, so it is closed.
            _ = opening.ContinueWith(static (t, s) => ((ChannelCore)s!).AfterAbandonedOpen(t), this,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    private async Task OpenOnBrokerAsync()
    {
        await CallAsync<ChannelOpen, ChannelOpenOk>(new ChannelOpen(), CancellationToken.None).ConfigureAwait(false);
        if (Confirms is not null)
        {
            await CallAsync<ConfirmSelect, ConfirmSelectOk>(new ConfirmSelect(false), CancellationToken.None).ConfigureAwait(false);
        }

        if (Interlocked.CompareExchange(ref _state, Open, Opening) != Opening)
        {
            throw ClosedError();
        }
    }

    private void AfterAbandonedOpen(Task opening)
    {
        _ = opening.Exception; // observed: the caller already got its cancellation
        if (IsOpen)
        {
            _ = CloseQuietlyAsync();
        }
        else if (Volatile.Read(ref _state) == Opening)
        {
            MarkClosed(new AmqpChannelClosedException($"Channel {Number} was discarded."), graceful: true);
            Session.ReleaseChannel(this);
        }
    }

    /// <summary>Switches an open channel to publisher-confirm mode (confirm.select).</summary>
    public async Task EnableConfirmsAsync(CancellationToken cancellationToken)
    {
        if (Confirms is not null)
        {
            return;
        }

        await CallAsync<ConfirmSelect, ConfirmSelectOk>(new ConfirmSelect(false), cancellationToken).ConfigureAwait(false);
        Confirms = new ConfirmTracker(Session.Options.MaxOutstandingConfirms);
        Dirty = true;
    }

    /// <summary>
    /// Closes the channel (channel.close / close-ok). Never throws for a channel that is closed or closing.
    /// A cancelled caller stops waiting; the close itself completes in the background.
    /// </summary>
    public async Task CloseAsync(ushort replyCode, string replyText, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Open) == Open)
        {
            Interlocked.CompareExchange(ref _closeReason, new AmqpChannelClosedException($"Channel {Number} was closed by the application."), null);
            _closing = CloseOnBrokerAsync(replyCode, replyText);
        }

        if (_closing is { } closing)
        {
            await closing.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CloseOnBrokerAsync(ushort replyCode, string replyText)
    {
        try
        {
            await CallAsync<ChannelClose, ChannelCloseOk>(new ChannelClose(replyCode, replyText, 0, 0), CancellationToken.None).ConfigureAwait(false);
            MarkClosed(CloseReason!, graceful: true);
            Session.ReleaseChannel(this);
        }
        catch (AmqpException) when (!IsOpen)
        {
            // The broker closed it at the same time, or the connection went: closed either way.
        }
    }

    public void ThrowIfUnusable(bool allowOpening = false, bool allowClosing = false)
    {
        int state = Volatile.Read(ref _state);
        if (state == Open || (allowOpening && state == Opening) || (allowClosing && state == Closing))
        {
            return;
        }

        throw ClosedError();
    }

    public Exception ClosedError() => CloseReason switch
    {
        AmqpChannelException e => new AmqpChannelException(e.ReplyCode, e.ReplyText, e.ClassId, e.MethodId),
        AmqpConnectionLostException e => new AmqpConnectionLostException($"Channel {Number} belonged to a connection that was lost; use a channel of the new connection.", e),
        AmqpConnectionException e => new AmqpConnectionLostException($"Channel {Number}'s connection was closed: {e.Message}", e),
        { } e => new AmqpChannelClosedException($"Channel {Number} is closed: {e.Message}"),
        null => new AmqpChannelClosedException($"Channel {Number} is not open yet."),
    };

    // ------------------------------------------------------------------ reader side (see ChannelInbound)

    public Delivery? HandleMethod(uint id, ReadOnlySpan<byte> payload) => Inbound.HandleMethod(id, payload);

    public Delivery? HandleHeader(ReadOnlySpan<byte> payload) => Inbound.HandleHeader(payload);

    public Delivery? HandleBody(ReadOnlySpan<byte> payload) => Inbound.HandleBody(payload);

    public Delivery? HandleBody(in ReadOnlySequence<byte> payload) => Inbound.HandleBody(payload);

    public void AbandonContent() => Inbound.AbandonContent();

    /// <summary>Reader: hands a complete delivery to its consumer (never waits; see <see cref="ConsumerRegistry.Dispatch"/>).</summary>
    public DeliveryInbox? Dispatch(Delivery delivery) => Consumers.Dispatch(delivery);

    /// <summary>Fails everything pending on this channel with <paramref name="reason"/>.</summary>
    public void MarkClosed(Exception reason, bool graceful)
    {
        Interlocked.CompareExchange(ref _closeReason, reason, null);
        Volatile.Write(ref _state, Closed);
        Queue.Complete(reason);
        Rpc.Fail(reason);
        if (Confirms is { } confirms)
        {
            // Logged before the publishes fail, so the log says why before any caller sees the failure.
            int unconfirmed = confirms.Outstanding;
            if (unconfirmed > 0)
            {
                Diagnostics.Logging.PublisherLog.UnconfirmedFailed(Session.Owner.Loggers.Publisher, unconfirmed, Number, reason.Message);
            }

            confirms.FailAll(reason);
        }

        Consumers.EndAll(reason, graceful);
        Publisher.SetFlow(active: true); // paused publishes go on to find the channel closed
    }

    // ------------------------------------------------------------------ get

    /// <summary>basic.get: one message or null.</summary>
    public async Task<Message?> GetAsync(string queue, bool autoAck, CancellationToken cancellationToken)
    {
        await SendRequestAsync(new BasicGet(queue, autoAck), MethodIds.BasicGetOk, MethodIds.BasicGetEmpty, cancellationToken, getAutoAck: autoAck).ConfigureAwait(false);
        try
        {
            await Rpc.WaitAsync().ConfigureAwait(false);
            if (Rpc.ReplyId == MethodIds.BasicGetEmpty || Rpc.Content is not Delivery delivery)
            {
                return null;
            }

            delivery.AutoAck = autoAck;
            return new Message(delivery);
        }
        finally
        {
            Rpc.Leave();
        }
    }

    /// <summary>Hands an unread delivery back to the queue (basic.reject, requeue); auto-acked ones are the broker's no more.</summary>
    public void RejectUnread(Delivery delivery)
    {
        if (!delivery.AutoAck && IsOpen)
        {
            Hygiene.Settled(multiple: false);
            Queue.TryEnqueue(Encode(new BasicReject(delivery.DeliveryTag, true)));
        }
    }
}
