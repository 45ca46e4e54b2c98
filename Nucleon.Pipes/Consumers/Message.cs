using Nucleon.Pipes.Consumers;
using Nucleon.Pipes.Diagnostics.Metrics;
using Nucleon.Pipes.Diagnostics.Tracing;

namespace Nucleon.Pipes;

/// <summary>
/// A message received from the broker (by a consumer or <c>GetAsync</c>). A consumer's message lives in
/// a pooled buffer: a manual-ack message stays valid, on any thread, until it is acked, nacked or
/// rejected (the prefetch bounds how many are held); an auto-ack message until its consume loop moves
/// on or the loop ends. Call <see cref="Detach"/> to keep one beyond that. Using a message after it was
/// recycled throws <see cref="InvalidOperationException"/> instead of showing another message's data;
/// but a <see cref="Body"/> taken earlier and read after the message was settled may show the next
/// message's bytes, so copy what you need before settling.
/// Acknowledge it with <see cref="AckAsync"/>, <see cref="NackAsync"/> or <see cref="RejectAsync"/>
/// (exactly once; not for auto-ack consumers).
/// </summary>
public readonly struct Message
{
    private readonly Delivery? _delivery;
    private readonly int _token;

    internal Message(Delivery delivery)
    {
        _delivery = delivery;
        _token = delivery.Token;
    }

    /// <summary>The message body. Valid until the message is settled (manual ack) or the loop moves on (auto-ack).</summary>
    public ReadOnlyMemory<byte> Body => Live.Body;

    /// <summary>The message's basic properties and headers.</summary>
    public BasicProperties Properties => Live.Properties;

    /// <summary>The exchange the message was published to ("" for the default exchange).</summary>
    public string Exchange => Live.Exchange;

    /// <summary>The routing key it was published with.</summary>
    public string RoutingKey => Live.RoutingKey;

    /// <summary>The channel-scoped delivery tag.</summary>
    public ulong DeliveryTag => Live.DeliveryTag;

    /// <summary>True when the broker delivered this message before (it was requeued).</summary>
    public bool Redelivered => Live.Redelivered;

    /// <summary>The consumer tag it was delivered to ("" for basic.get).</summary>
    public string ConsumerTag => Live.ConsumerTag;

    /// <summary>For basic.get: how many messages remained in the queue.</summary>
    public uint MessageCount => Live.MessageCount;

    /// <summary>
    /// For a message from a stream queue: its offset in the stream (the <c>x-stream-offset</c> header
    /// RabbitMQ adds), e.g. to resume later with <see cref="Nucleon.Pipes.StreamOffset.At"/>; else null.
    /// </summary>
    public long? StreamOffset => Consumers.StreamCursor.OffsetOf(Live.Properties.Headers);

    /// <summary>
    /// How many times a quorum queue delivered this message before (the <c>x-delivery-count</c> header,
    /// which RabbitMQ adds from the first redelivery on); null when the header is absent.
    /// </summary>
    public long? DeliveryCount =>
        Live.Properties.Headers is { } headers && headers.TryGetValue("x-delivery-count", out var count) ? AmqpDeathEntry.Integer(count) : null;

    /// <summary>The parsed <c>x-death</c> header: why and where the message was dead-lettered, newest first; empty when it never was.</summary>
    public IReadOnlyList<AmqpDeathEntry> Deaths =>
        AmqpDeathEntry.Parse(Live.Properties.Headers is { } headers && headers.TryGetValue("x-death", out var deaths) ? deaths : null);

    /// <summary>True when this message still holds its data (it has not been recycled).</summary>
    public bool IsValid => _delivery is not null && _delivery.Token == _token;

    /// <summary>
    /// True when an ack, nack or reject of this message can still reach the broker: it was delivered
    /// for manual acknowledgement, is not settled yet (also not by a multiple ack), and its channel is
    /// open. False once its channel or connection is gone: the broker then redelivers the message.
    /// </summary>
    public bool CanSettle =>
        IsValid && !_delivery!.AutoAck && !_delivery.Settled && _delivery.Channel is { IsOpen: true } channel
        && _delivery.DeliveryTag > channel.SettledThrough;

    /// <summary>True when the broker delivered this message in auto-ack mode (it cannot be settled).</summary>
    internal bool IsAutoAck => Live.AutoAck;

    internal Delivery? Delivery => _delivery;

    /// <summary>The property bytes as received when the consumer keeps them (see <see cref="ConsumeOptions"/>); else empty.</summary>
    internal ReadOnlySpan<byte> RawProperties => Live.RawProperties;

    private Delivery Live =>
        _delivery is not null && _delivery.Token == _token
            ? _delivery
            : throw new InvalidOperationException(_delivery is null
                ? "This Message is empty (default value)."
                : "This Message was recycled: a manual-ack message once it was settled, an auto-ack one when its consume loop moved on; call Detach() to keep a message longer.");

    /// <summary>A copy that owns its body and stays valid (and acknowledgeable, once between it and the original) after the original is recycled.</summary>
    public Message Detach() => new(Live.Detach());

    /// <summary>Acknowledges the message (basic.ack); with <paramref name="multiple"/>, every earlier unacked delivery on the channel too.</summary>
    public ValueTask AckAsync(bool multiple = false, CancellationToken cancellationToken = default) =>
        Settle(SettleKind.Ack, multiple, requeue: false, cancellationToken);

    /// <summary>Negatively acknowledges the message (basic.nack); requeued by default, else dead-lettered or dropped.</summary>
    public ValueTask NackAsync(bool multiple = false, bool requeue = true, CancellationToken cancellationToken = default) =>
        Settle(SettleKind.Nack, multiple, requeue, cancellationToken);

    /// <summary>Rejects the message (basic.reject); requeued by default, else dead-lettered or dropped.</summary>
    public ValueTask RejectAsync(bool requeue = true, CancellationToken cancellationToken = default) =>
        Settle(SettleKind.Reject, multiple: false, requeue, cancellationToken);

    private ValueTask Settle(SettleKind kind, bool multiple, bool requeue, CancellationToken cancellationToken)
    {
        var d = Live;
        if (d.AutoAck)
        {
            throw new InvalidOperationException("This message was delivered in auto-ack mode; the broker already considers it acknowledged.");
        }

        var channel = d.Channel ?? throw new InvalidOperationException("This message is not attached to a channel.");
        if (d.DeliveryTag <= channel.SettledThrough || !d.TrySettle(_token))
        {
            throw new InvalidOperationException($"Delivery {d.DeliveryTag} was already acknowledged, nacked or rejected (maybe by a multiple ack, or through a detached copy); settling twice would close the channel (406 PRECONDITION_FAILED).");
        }

        long started = SettleMetrics.Start(channel);
        var sent = channel.SettleAsync(kind, d.DeliveryTag, multiple, requeue, cancellationToken);
        if (started != 0)
        {
            sent = SettleMetrics.Observe(sent, started, kind, d.Owner?.Queue ?? string.Empty, channel);
        }

        if (!sent.IsFaulted && !sent.IsCanceled)
        {
            d.Cursor?.Settled(d, multiple);
            // Settled: the message's process span and duration end here, in the settling caller's context.
            ProcessTelemetry.End(d);
            // The command is encoded: a manual-ack message's lifetime ends here, and its delivery
            // goes back to the consumer's pool for the next message.
            d.Owner?.Release(d);
        }

        return sent;
    }
}
