using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Consumers;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes;

/// <summary>
/// An AMQP channel: every client-side AMQP 0-9-1 method as an async method. Safe to share between
/// tasks: synchronous methods take turns (AMQP allows one outstanding per channel), publishes and
/// acknowledgements are queued in order. A channel error from the broker (404, 406, 403...) closes
/// only this channel and is thrown as <see cref="AmqpChannelException"/>; the connection lives on.
/// </summary>
public class AmqpChannel : IAsyncDisposable
{
    private ChannelCore? _core;
    private readonly ChannelPool? _pool;

    internal AmqpChannel(ChannelCore core, ChannelPool? pool)
    {
        _core = core;
        _pool = pool;
    }

    internal ChannelCore Core => Volatile.Read(ref _core)
        ?? throw new AmqpChannelClosedException(_pool is null
            ? "This channel was closed and disposed."
            : "This channel was returned to its pool; rent another one.");

    /// <summary>The channel number on its connection.</summary>
    public ushort ChannelNumber => Core.Number;

    /// <summary>True while the channel is open and usable.</summary>
    public bool IsOpen => Volatile.Read(ref _core) is { IsOpen: true };

    /// <summary>Why the channel closed (null while open).</summary>
    public Exception? CloseReason => Volatile.Read(ref _core)?.CloseReason;

    /// <summary>True when publishes on this channel complete only on the broker's confirm.</summary>
    public bool PublisherConfirms => Core.Confirms is not null;

    /// <summary>
    /// On a confirm channel, the sequence number the next publish will get (1 for the first); 0 without
    /// confirms. <see cref="AmqpPublishNackedException.SequenceNumber"/> and
    /// <see cref="AmqpMessageReturnedException.SequenceNumber"/> carry the same numbers: with one publisher at a
    /// time on the channel, read this just before a publish to know which number that publish gets.
    /// </summary>
    public ulong NextPublishSequenceNumber => Core.Confirms?.NextSequenceNumber ?? 0;

    /// <summary>The connection generation (1 for the first connection, +1 per reconnect) this channel belongs to.</summary>
    public int Generation => Core.Session.Generation;

    // ------------------------------------------------------------------ exchanges

    /// <summary>exchange.declare: creates the exchange if it does not exist (or, with <paramref name="passive"/>, only checks that it does).</summary>
    public async Task ExchangeDeclareAsync(string exchange, string type = ExchangeType.Direct, bool durable = false, bool autoDelete = false,
        bool @internal = false, IDictionary<string, object?>? arguments = null, bool passive = false, bool noWait = false, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(exchange, nameof(exchange));
        ArgumentChecks.ExchangeType(type, nameof(type));
        await SendOrCallAsync<ExchangeDeclare, ExchangeDeclareOk>(new ExchangeDeclare(exchange, type, passive, durable, autoDelete, @internal, noWait, arguments), noWait, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>exchange.delete.</summary>
    public async Task ExchangeDeleteAsync(string exchange, bool ifUnused = false, bool noWait = false, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(exchange, nameof(exchange));
        await SendOrCallAsync<ExchangeDelete, ExchangeDeleteOk>(new ExchangeDelete(exchange, ifUnused, noWait), noWait, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>exchange.bind: routes messages from <paramref name="source"/> to <paramref name="destination"/> (RabbitMQ extension).</summary>
    public async Task ExchangeBindAsync(string destination, string source, string routingKey, IDictionary<string, object?>? arguments = null,
        bool noWait = false, CancellationToken cancellationToken = default)
    {
        CheckBinding(destination, nameof(destination), source, nameof(source), routingKey);
        await SendOrCallAsync<ExchangeBind, ExchangeBindOk>(new ExchangeBind(destination, source, routingKey, noWait, arguments), noWait, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>exchange.unbind.</summary>
    public async Task ExchangeUnbindAsync(string destination, string source, string routingKey, IDictionary<string, object?>? arguments = null,
        bool noWait = false, CancellationToken cancellationToken = default)
    {
        CheckBinding(destination, nameof(destination), source, nameof(source), routingKey);
        await SendOrCallAsync<ExchangeUnbind, ExchangeUnbindOk>(new ExchangeUnbind(destination, source, routingKey, noWait, arguments), noWait, cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ queues

    /// <summary>
    /// queue.declare: creates the queue if it does not exist (or, with <paramref name="passive"/>, only
    /// checks that it does: a missing queue is a 404 <see cref="AmqpChannelException"/>). An empty name
    /// asks the broker to generate one. With <paramref name="noWait"/> the counts in the result are 0.
    /// </summary>
    public async Task<QueueDeclareResult> QueueDeclareAsync(string queue = "", bool durable = false, bool exclusive = false, bool autoDelete = false,
        IDictionary<string, object?>? arguments = null, bool passive = false, bool noWait = false, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(queue, nameof(queue));
        var method = new QueueDeclare(queue, passive, durable, exclusive, autoDelete, noWait, arguments);
        if (noWait)
        {
            if (queue.Length == 0)
            {
                throw new ArgumentException("A server-named queue needs the broker's reply; noWait needs a queue name.", nameof(queue));
            }

            await Core.SendAsync(method, cancellationToken).ConfigureAwait(false);
            return new QueueDeclareResult(queue, 0, 0);
        }

        var ok = await Core.CallAsync<QueueDeclare, QueueDeclareOk>(method, cancellationToken).ConfigureAwait(false);
        return new QueueDeclareResult(ok.Queue, ok.MessageCount, ok.ConsumerCount);
    }

    /// <summary>queue.bind.</summary>
    public async Task QueueBindAsync(string queue, string exchange, string routingKey, IDictionary<string, object?>? arguments = null,
        bool noWait = false, CancellationToken cancellationToken = default)
    {
        CheckBinding(queue, nameof(queue), exchange, nameof(exchange), routingKey);
        await SendOrCallAsync<QueueBind, QueueBindOk>(new QueueBind(queue, exchange, routingKey, noWait, arguments), noWait, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>queue.unbind.</summary>
    public async Task QueueUnbindAsync(string queue, string exchange, string routingKey, IDictionary<string, object?>? arguments = null,
        CancellationToken cancellationToken = default)
    {
        CheckBinding(queue, nameof(queue), exchange, nameof(exchange), routingKey);
        await Core.CallAsync<QueueUnbind, QueueUnbindOk>(new QueueUnbind(queue, exchange, routingKey, arguments), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>queue.purge: removes every ready message; returns how many.</summary>
    public async Task<uint> QueuePurgeAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(queue, nameof(queue));
        return (await Core.CallAsync<QueuePurge, QueuePurgeOk>(new QueuePurge(queue, false), cancellationToken).ConfigureAwait(false)).MessageCount;
    }

    /// <summary>queue.delete: returns how many messages were deleted with it.</summary>
    public async Task<uint> QueueDeleteAsync(string queue, bool ifUnused = false, bool ifEmpty = false, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(queue, nameof(queue));
        return (await Core.CallAsync<QueueDelete, QueueDeleteOk>(new QueueDelete(queue, ifUnused, ifEmpty, false), cancellationToken).ConfigureAwait(false)).MessageCount;
    }

    // ------------------------------------------------------------------ basic

    /// <summary>
    /// basic.qos: limits unacknowledged deliveries (per consumer, or per channel with <paramref name="global"/>).
    /// Note: consumers started with <see cref="BasicConsumeAsync"/> or <c>ConsumeAsync</c> send their own
    /// per-consumer basic.qos (<see cref="ConsumeOptions.Prefetch"/>), and RabbitMQ then drops an earlier
    /// channel-wide limit; set a global limit after starting consumers. There is no byte limit
    /// (prefetch-size): RabbitMQ answers a non-zero one by closing the whole connection (540 NOT_IMPLEMENTED).
    /// </summary>
    public async Task BasicQosAsync(ushort prefetchCount, bool global = false, CancellationToken cancellationToken = default)
    {
        await Core.CallAsync<BasicQos, BasicQosOk>(new BasicQos(0, prefetchCount, global), cancellationToken).ConfigureAwait(false);
        Core.Dirty = true;
    }

    /// <summary>
    /// basic.consume: starts a consumer now and returns it; read its messages from
    /// <see cref="AmqpConsumer.Messages"/>. (<c>MessageChannel.ConsumeAsync</c> wraps this as a stream.)
    /// </summary>
    public async Task<AmqpConsumer> BasicConsumeAsync(string queue, ConsumeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(queue, nameof(queue));
        ArgumentChecks.ConsumeOptions(options, nameof(options));
        var core = Core;
        var state = await core.Consumers.StartAsync(queue, options ?? ConsumeOptions.Default, cancellationToken).ConfigureAwait(false);
        return new AmqpConsumer(core, state);
    }

    /// <summary>basic.cancel: stops a consumer by tag; its unread deliveries go back to the queue.</summary>
    public Task BasicCancelAsync(string consumerTag, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(consumerTag, nameof(consumerTag));
        return Core.Consumers.CancelAsync(consumerTag, cancellationToken);
    }

    /// <summary>
    /// basic.publish with content. The body is copied before this returns, so the caller may reuse it.
    /// On a confirm-mode channel the task completes when the broker confirms, and fails with
    /// <see cref="AmqpPublishNackedException"/> or <see cref="AmqpMessageReturnedException"/>.
    /// </summary>
    internal ValueTask BasicPublishAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties = null,
        bool mandatory = false, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(exchange, nameof(exchange));
        ArgumentChecks.ShortString(routingKey, nameof(routingKey));
        return Core.Publisher.PublishAsync(exchange, routingKey, body, properties, mandatory, cancellationToken);
    }

    /// <summary>
    /// As <see cref="BasicPublishAsync"/>, for one message of a batch on a confirm channel: the writer is not woken
    /// for it (unless the publish has to wait), so the batch's messages leave in one socket write. The caller wakes it
    /// with <see cref="FlushBatch"/> after the last message it has at hand, and before it waits for any confirm.
    /// </summary>
    internal ValueTask BasicPublishInBatchAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties,
        bool mandatory, CancellationToken cancellationToken)
    {
        ArgumentChecks.ShortString(exchange, nameof(exchange));
        ArgumentChecks.ShortString(routingKey, nameof(routingKey));
        return Core.Publisher.PublishInBatchAsync(exchange, routingKey, body, properties, mandatory, cancellationToken);
    }

    /// <summary>Wakes the connection's writer for the batch published so far (see <see cref="BasicPublishInBatchAsync"/>).</summary>
    internal void FlushBatch() => Core.Queue.Schedule();

    /// <summary>basic.get: fetches one message, or null when the queue is empty.</summary>
    internal Task<Message?> BasicGetAsync(string queue, bool autoAck = false, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(queue, nameof(queue));
        return Core.GetAsync(queue, autoAck, cancellationToken);
    }

    /// <summary>basic.ack by delivery tag.</summary>
    public ValueTask BasicAckAsync(ulong deliveryTag, bool multiple = false, CancellationToken cancellationToken = default) =>
        Core.SettleAsync(SettleKind.Ack, deliveryTag, multiple, false, cancellationToken);

    /// <summary>basic.nack by delivery tag.</summary>
    public ValueTask BasicNackAsync(ulong deliveryTag, bool multiple = false, bool requeue = true, CancellationToken cancellationToken = default) =>
        Core.SettleAsync(SettleKind.Nack, deliveryTag, multiple, requeue, cancellationToken);

    /// <summary>basic.reject by delivery tag.</summary>
    public ValueTask BasicRejectAsync(ulong deliveryTag, bool requeue = true, CancellationToken cancellationToken = default) =>
        Core.SettleAsync(SettleKind.Reject, deliveryTag, false, requeue, cancellationToken);

    /// <summary>
    /// basic.recover: asks the broker to requeue this channel's unacknowledged messages (they are
    /// redelivered, to this or another consumer). Always with requeue=true: RabbitMQ answers requeue=false
    /// by closing the whole connection (540 NOT_IMPLEMENTED).
    /// </summary>
    public async Task BasicRecoverAsync(CancellationToken cancellationToken = default) =>
        await Core.CallAsync<BasicRecover, BasicRecoverOk>(new BasicRecover(Requeue: true), cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Handler for mandatory messages the broker returns on a channel without publisher confirms
    /// (on a confirm channel the publish itself fails). Runs on the thread pool.
    /// </summary>
    public void OnReturn(Action<ReturnedMessage> handler) => Core.ReturnHandler = handler;

    // ------------------------------------------------------------------ confirm, tx, flow

    /// <summary>confirm.select: puts this channel in publisher-confirm mode. Call it before publishing on the channel.</summary>
    public Task ConfirmSelectAsync(CancellationToken cancellationToken = default) => Core.EnableConfirmsAsync(cancellationToken);

    /// <summary>tx.select: makes publishes and acks on this channel transactional.</summary>
    public async Task TxSelectAsync(CancellationToken cancellationToken = default)
    {
        Core.Dirty = true;
        await Core.CallAsync<TxSelect, TxSelectOk>(default, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>tx.commit.</summary>
    public async Task TxCommitAsync(CancellationToken cancellationToken = default) =>
        await Core.CallAsync<TxCommit, TxCommitOk>(default, cancellationToken).ConfigureAwait(false);

    /// <summary>tx.rollback.</summary>
    public async Task TxRollbackAsync(CancellationToken cancellationToken = default) =>
        await Core.CallAsync<TxRollback, TxRollbackOk>(default, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// channel.flow: asks the broker to pause (false) or resume (true) deliveries; returns the state it confirmed.
    /// RabbitMQ does not implement pausing (it would close the whole connection with 540 NOT_IMPLEMENTED), so
    /// <c>active: false</c> against RabbitMQ throws <see cref="NotSupportedException"/> without sending anything;
    /// pause a consumer there with a prefetch and by not acknowledging, or cancel it.
    /// </summary>
    public async Task<bool> ChannelFlowAsync(bool active, CancellationToken cancellationToken = default)
    {
        if (!active && Core.Session.ServerProperties.TryGetValue("product", out var product) && product is string name
            && name.Contains("RabbitMQ", StringComparison.OrdinalIgnoreCase))
        {
            throw new NotSupportedException("RabbitMQ does not support channel.flow(active=false): it would close the connection with 540 NOT_IMPLEMENTED. Use a prefetch and withhold acks, or cancel the consumer.");
        }

        Core.Dirty = true;
        return (await Core.CallAsync<ChannelFlow, ChannelFlowOk>(new ChannelFlow(active), cancellationToken).ConfigureAwait(false)).Active;
    }

    private static void CheckBinding(string destination, string destinationName, string source, string sourceName, string routingKey)
    {
        ArgumentChecks.ShortString(destination, destinationName);
        ArgumentChecks.ShortString(source, sourceName);
        ArgumentChecks.ShortString(routingKey, nameof(routingKey));
    }

    // Methods with a no-wait bit: sent without waiting for the broker, or as a call whose -ok carries nothing.
    private async Task SendOrCallAsync<TRequest, TReply>(TRequest method, bool noWait, CancellationToken cancellationToken)
        where TRequest : struct, IAmqpMethod<TRequest>
        where TReply : struct, IAmqpMethod<TReply>
    {
        if (noWait)
        {
            await Core.SendAsync(method, cancellationToken).ConfigureAwait(false);
            return;
        }

        await Core.CallAsync<TRequest, TReply>(method, cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ lifetime

    /// <summary>Closes the channel on the broker (channel.close). A rented channel is closed, not pooled.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        var core = Interlocked.Exchange(ref _core, null);
        if (core is not null)
        {
            await core.CloseAsync(AmqpReplyCode.Success, "Goodbye", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A rented channel goes back to its pool if healthy (else it is closed); an allocated channel is
    /// closed. Either way this object can no longer be used.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var core = Interlocked.Exchange(ref _core, null);
        if (core is null)
        {
            return;
        }

        if (_pool is not null)
        {
            _pool.Return(core);
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await core.CloseAsync(AmqpReplyCode.Success, "Goodbye", timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        GC.SuppressFinalize(this);
    }
}
