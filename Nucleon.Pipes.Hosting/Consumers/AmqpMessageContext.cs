namespace Nucleon.Pipes.Hosting;

/// <summary>
/// One message handed to an <see cref="IAmqpMessageHandler"/>, with the means to settle it. The
/// <see cref="Message"/> stays valid (body included) for as long as the handler needs it.
/// If the handler settles it (here or on <see cref="Message"/>), the consumer sends nothing more.
/// </summary>
public sealed class AmqpMessageContext
{
    private int _settled;

    internal AmqpMessageContext(Message message, string queue)
    {
        Message = message;
        Queue = queue;
    }

    /// <summary>The message (detached from the consume loop: it does not expire while the handler runs).</summary>
    public Message Message { get; }

    /// <summary>The queue it was consumed from.</summary>
    public string Queue { get; }

    /// <summary>True once the message was settled through this context.</summary>
    public bool IsSettled => Volatile.Read(ref _settled) != 0;

    /// <summary>Acknowledges the message now, instead of when the handler returns.</summary>
    public ValueTask AckAsync(CancellationToken cancellationToken = default)
    {
        MarkSettled();
        return Message.AckAsync(cancellationToken: cancellationToken);
    }

    /// <summary>Negatively acknowledges the message: requeued, or dead-lettered with <paramref name="requeue"/> false.</summary>
    public ValueTask NackAsync(bool requeue, CancellationToken cancellationToken = default)
    {
        MarkSettled();
        return Message.NackAsync(requeue: requeue, cancellationToken: cancellationToken);
    }

    private void MarkSettled()
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            throw new InvalidOperationException($"Delivery {Message.DeliveryTag} was already settled through this context.");
        }
    }
}
