using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes;

/// <summary>Runs a handler over a stream of messages, several at once.</summary>
public static class MessageProcessing
{
    /// <summary>
    /// Runs <paramref name="handler"/> for every message of <paramref name="messages"/>, at most
    /// <see cref="ProcessOptions.Concurrency"/> at once, until the stream ends (returns), fails (throws
    /// its error) or <paramref name="cancellationToken"/> fires (throws <see cref="OperationCanceledException"/>).
    /// </summary>
    /// <remarks>
    /// <para>A message is taken from the stream only when a handler is free (back-pressure: never more
    /// than <see cref="ProcessOptions.Concurrency"/> in handlers). Handlers start in delivery order and
    /// finish in any order; each message is acked (or nacked) for its own delivery tag, never with
    /// <c>multiple</c>, so acks go out in completion order. With a concurrency of 1 the order is kept.</para>
    /// <para>Settlement: a handler may settle its message itself; if it returns without doing so the message
    /// is acked; if it throws, the message is nacked (requeued only with <see cref="ProcessOptions.RequeueOnFailure"/>)
    /// and the exception goes to the connection's <c>OnError</c> handlers as an <see cref="AmqpCallbackException"/>.
    /// A handler that ends with <see cref="OperationCanceledException"/> after <paramref name="cancellationToken"/>
    /// fired is requeued. Auto-ack messages are not settled; each stays valid until its handler returns.
    /// A message whose channel or connection is gone cannot be settled; the broker redelivers it.</para>
    /// <para>Shutdown (the token fires): no further message is taken; running handlers see the token, finish
    /// or give up, and are settled on the still-open channel; then the subscription is cancelled and messages
    /// prefetched but not handled go back to the queue.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The concurrency is below 1, or above the stream's prefetch.</exception>
    public static Task ProcessAsync(this IAsyncEnumerable<Message> messages, Func<Message, CancellationToken, ValueTask> handler,
        ProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(handler);
        options ??= ProcessOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1, nameof(options) + ".Concurrency");
        if (messages is IConsumerMessageStream { Options: { AutoAck: false, Prefetch: > 0 } consume } && consume.Prefetch < options.Concurrency)
        {
            throw new ArgumentException(
                $"Concurrency {options.Concurrency} needs a prefetch of at least {options.Concurrency}, but the consumer's prefetch is {consume.Prefetch}: the broker would never hand out enough messages to fill the handlers.",
                nameof(options));
        }

        return new MessageProcessor(messages, handler, options, cancellationToken).RunAsync();
    }
}
