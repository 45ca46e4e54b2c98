using Nucleon.Pipes.Consumers;
using Nucleon.Pipes.Diagnostics.Logging;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// The consumers of one channel: subscribing and cancelling them, and handing each complete delivery
/// to its consumer's inbox. The connection's reader calls <see cref="Dispatch"/> and
/// <see cref="HandleServerCancel"/>; it must never wait here, since it serves every channel: a
/// consumer that cannot keep up is cancelled on its own (see <see cref="AmqpConsumerOverflowException"/>).
/// </summary>
internal sealed class ConsumerRegistry(ChannelCore channel)
{
    private readonly SemaphoreSlim _consumeLock = new(1, 1);
    private ConsumerState[] _consumers = [];

    private Microsoft.Extensions.Logging.ILogger Log => channel.Session.Owner.Loggers.Consumer;

    /// <summary>Subscriptions that are running.</summary>
    public int Count => Volatile.Read(ref _consumers).Length;

    /// <summary>The consumers right now (for metrics).</summary>
    public ConsumerState[] Snapshot() => Volatile.Read(ref _consumers);

    /// <summary>basic.qos (per consumer) and basic.consume.</summary>
    /// <remarks>
    /// If <paramref name="cancellationToken"/> fires once basic.consume is queued, the subscription may
    /// already exist on the broker: it is cancelled as soon as the broker confirms it, and deliveries
    /// that reach it meanwhile go back to the queue (auto-ack ones cannot).
    /// </remarks>
    public async Task<ConsumerState> StartAsync(string queue, ConsumeOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        await _consumeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            channel.ThrowIfUnusable();
            string tag = options.ConsumerTag ?? channel.Session.NextConsumerTag(channel.Number);
            var consumer = !options.AutoAck && options.Prefetch > 0
                ? new ConsumerState(channel, tag, autoAck: false, options.Prefetch, overflowByteLimit: 0, channel.Session.Options.TimeProvider) { Queue = queue, KeepsRawProperties = options.KeepRawProperties } // bounded by the broker
                : new ConsumerState(channel, tag, options.AutoAck, Math.Max(1, options.InboxCapacity), Math.Max(0, options.MaxOverflowBytes), channel.Session.Options.TimeProvider) { Queue = queue, KeepsRawProperties = options.KeepRawProperties };
            if (!options.AutoAck)
            {
                // Per-consumer prefetch (global=false in RabbitMQ); held together with the consume by _consumeLock.
                await channel.CallAsync<BasicQos, BasicQosOk>(new BasicQos(0, options.Prefetch, false), cancellationToken).ConfigureAwait(false);
            }

            Add(consumer);
            var consume = new BasicConsume(queue, tag, false, options.AutoAck, options.Exclusive, false, StreamOffset.ConsumeArguments(options));
            var subscribing = channel.CallAsync<BasicConsume, BasicConsumeOk>(consume, CancellationToken.None).AsTask();
            try
            {
                await subscribing.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Not "when !subscribing.IsCompleted": consume-ok may arrive between the throw and that
                // check, and such a subscription would stay on the broker with nobody to cancel it.
                consumer.Cancelled = true;
                _ = subscribing.ContinueWith(
                    static (t, s) =>
                    {
                        var (registry, abandoned) = ((ConsumerRegistry, ConsumerState))s!;
                        _ = t.Exception;
                        _ = registry.StopAsync(abandoned, drain: false);
                    },
                    (this, consumer), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                throw;
            }
            catch
            {
                Remove(consumer);
                throw;
            }

            ConsumerLog.Subscribed(Log, tag, queue, channel.Number, channel.Session.Generation, options.Prefetch, options.AutoAck);
            return consumer;
        }
        finally
        {
            _consumeLock.Release();
        }
    }

    /// <summary>
    /// Cancels a consumer (basic.cancel, once) and ends its inbox. Deliveries still unread go back to the
    /// queue, always from the inbox's one reader: here when the caller is that reader
    /// (<paramref name="drain"/>) or no loop ever claimed it; else a running loop hands them back on its
    /// next read when <paramref name="handBack"/> is set (an application cancel), or reads them and then
    /// ends (the broker's cancel, an overflow).
    /// </summary>
    public async Task StopAsync(ConsumerState consumer, bool drain, bool handBack = false)
    {
        consumer.Cancelled = true;
        if (handBack)
        {
            consumer.HandBackUnread = true;
        }

        if (consumer.TryBeginStop() && channel.IsOpen && Contains(consumer))
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await channel.CallAsync<BasicCancel, BasicCancelOk>(new BasicCancel(consumer.Tag, false), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AmqpException or OperationCanceledException)
            {
                // The channel or connection went away meanwhile: the broker requeues unacked messages itself.
            }
        }

        Remove(consumer);
        consumer.Inbox.Complete();
        if (drain || consumer.TryClaimReader())
        {
            HandBackUnread(consumer);
        }
    }

    /// <summary>Gives every unread delivery back to the queue. Only the inbox's reader may call this.</summary>
    public void HandBackUnread(ConsumerState consumer)
    {
        while (consumer.Inbox.TryRead(out var unread))
        {
            Drop(unread);
        }
    }

    /// <summary>basic.cancel by tag, for consumers started through the raw API.</summary>
    public Task CancelAsync(string consumerTag, CancellationToken cancellationToken)
    {
        foreach (var consumer in Volatile.Read(ref _consumers))
        {
            if (consumer.Tag == consumerTag)
            {
                return StopAsync(consumer, drain: false, handBack: true).WaitAsync(cancellationToken);
            }
        }

        return channel.CallAsync<BasicCancel, BasicCancelOk>(new BasicCancel(consumerTag, false), cancellationToken).AsTask();
    }

    /// <summary>Reader: the consumer with this tag, if it is ours.</summary>
    public ConsumerState? Find(ReadOnlySpan<byte> tagUtf8)
    {
        foreach (var c in Volatile.Read(ref _consumers))
        {
            if (tagUtf8.SequenceEqual(c.TagUtf8))
            {
                return c;
            }
        }

        return null;
    }

    /// <summary>
    /// Reader: hands a complete delivery to its consumer. Never waits. Returns the inbox it went to: the
    /// reader wakes that consume loop (<see cref="DeliveryInbox.WakeReader"/>) once it has handed over what
    /// it read.
    /// </summary>
    public DeliveryInbox? Dispatch(Delivery delivery)
    {
        var consumer = delivery.Owner;
        if (consumer is null || consumer.Cancelled || !channel.IsOpen)
        {
            Drop(delivery);
            return null;
        }

        if (consumer.Inbox.TryAppend(delivery))
        {
            if (consumer.Inbox.OverflowCount > 0)
            {
                // A burst outruns the consume loop: the pool keeps what it made, so the next one reuses it.
                consumer.Pool.NoteOverflow(consumer.Inbox.Count);
            }

            return consumer.Inbox;
        }

        // The consume loop is too far behind: this consumer alone pays, never the connection.
        // Counted once: the consume loop may still be reading, and the log and the exception must agree.
        int waiting = consumer.Inbox.Count;
        ConsumerLog.Overflowed(Log, consumer.Tag, consumer.Queue, waiting);
        consumer.Cancelled = true;
        consumer.Inbox.Complete(new AmqpConsumerOverflowException(consumer.Tag, consumer.AutoAck, waiting, consumer.OverflowByteLimit));
        Drop(delivery);
        _ = StopAsync(consumer, drain: false);
        return null;
    }

    /// <summary>Reader: the broker cancelled a consumer (queue deleted, node down).</summary>
    public void HandleServerCancel(BasicCancel cancel)
    {
        foreach (var consumer in Volatile.Read(ref _consumers))
        {
            if (consumer.Tag == cancel.ConsumerTag)
            {
                ConsumerLog.CancelledByBroker(Log, consumer.Tag, consumer.Queue, channel.Number, channel.Session.Generation);
                consumer.Cancelled = true;
                Remove(consumer);
                consumer.Inbox.Complete(new AmqpConsumerCancelledException(consumer.Tag));
            }
        }
    }

    /// <summary>The channel ended: every inbox ends (with <paramref name="reason"/> unless the close was graceful).</summary>
    public void EndAll(Exception reason, bool graceful)
    {
        foreach (var consumer in Interlocked.Exchange(ref _consumers, []))
        {
            consumer.Cancelled = true;
            consumer.Inbox.Complete(graceful ? null : reason);
        }
    }

    // Nobody will read it: give it back to the queue now instead of when the channel closes.
    private void Drop(Delivery delivery)
    {
        channel.RejectUnread(delivery);
        delivery.Owner?.Recycle(delivery);
    }

    private bool Contains(ConsumerState consumer) => Array.IndexOf(Volatile.Read(ref _consumers), consumer) >= 0;

    private void Add(ConsumerState consumer)
    {
        while (true)
        {
            var current = Volatile.Read(ref _consumers);
            ConsumerState[] updated = [.. current, consumer];
            if (Interlocked.CompareExchange(ref _consumers, updated, current) == current)
            {
                return;
            }
        }
    }

    private void Remove(ConsumerState consumer)
    {
        while (true)
        {
            var current = Volatile.Read(ref _consumers);
            int i = Array.IndexOf(current, consumer);
            if (i < 0)
            {
                return;
            }

            ConsumerState[] updated = [.. current.AsSpan(0, i), .. current.AsSpan(i + 1)];
            if (Interlocked.CompareExchange(ref _consumers, updated, current) == current)
            {
                return;
            }
        }
    }
}
