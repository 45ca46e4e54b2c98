using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes;

/// <summary>
/// A channel with message semantics on top of the raw AMQP methods: confirmed publishing, consuming
/// as an async stream of <see cref="Message"/>s that are acked, nacked or rejected, and basic.get.
/// This is what <see cref="AmqpConnection.RentChannelAsync"/> and <see cref="AmqpConnection.AllocateChannelAsync"/> return.
/// </summary>
public sealed class MessageChannel : AmqpChannel
{
    internal MessageChannel(ChannelCore core, ChannelPool? pool) : base(core, pool) { }

    /// <summary>
    /// Publishes a message. The body is copied before this returns. On a channel rented or allocated
    /// with <see cref="ChannelOptions.PublisherConfirms"/>, the task completes when the broker confirms
    /// the message and fails with <see cref="AmqpPublishNackedException"/> on nack,
    /// <see cref="AmqpMessageReturnedException"/> when a mandatory message could not be routed, and
    /// <see cref="AmqpConnectionLostException"/> when the connection went before the confirm (republish then).
    /// Many publishes may be in flight at once: start them and await the tasks later.
    /// </summary>
    public ValueTask PublishAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties = null,
        bool mandatory = false, CancellationToken cancellationToken = default) =>
        BasicPublishAsync(exchange, routingKey, body, properties, mandatory, cancellationToken);

    /// <summary>
    /// Consumes a queue as an async stream. The subscription (basic.qos with the prefetch, then
    /// basic.consume) starts when the enumeration starts and is cancelled when it ends (leaving the
    /// <c>await foreach</c>, or cancelling <paramref name="cancellationToken"/>); unread messages then go
    /// back to the queue. Each message stays valid until the loop moves on.
    /// The stream ends with <see cref="AmqpChannelException"/> if the channel fails,
    /// <see cref="AmqpConnectionLostException"/> if the connection is lost, and
    /// <see cref="AmqpConsumerCancelledException"/> if the broker cancels the consumer.
    /// </summary>
    public IAsyncEnumerable<Message> ConsumeAsync(string queue, ConsumeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(queue, nameof(queue));
        ArgumentChecks.ConsumeOptions(options, nameof(options));
        return new ConsumerStream(Core, queue, options ?? ConsumeOptions.Default, cancellationToken);
    }

    /// <summary>Fetches one message with basic.get, or null when the queue is empty.</summary>
    public Task<Message?> GetAsync(string queue, bool autoAck = false, CancellationToken cancellationToken = default) =>
        BasicGetAsync(queue, autoAck, cancellationToken);
}
