namespace Nucleon.Pipes;

/// <summary>Declaring quorum and stream queues with typed options (both are always durable).</summary>
public static class QueueDeclareExtensions
{
    /// <summary>Declares a durable quorum queue with <paramref name="options"/>' arguments (queue.declare).</summary>
    public static Task<QueueDeclareResult> QueueDeclareQuorumAsync(this AmqpChannel channel, string queue, QuorumQueueOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return channel.QueueDeclareAsync(queue, durable: true, arguments: (options ?? new QuorumQueueOptions()).ToArguments(), cancellationToken: cancellationToken);
    }

    /// <summary>Declares a durable stream queue with <paramref name="options"/>' arguments (queue.declare).</summary>
    public static Task<QueueDeclareResult> QueueDeclareStreamAsync(this AmqpChannel channel, string queue, StreamQueueOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return channel.QueueDeclareAsync(queue, durable: true, arguments: (options ?? new StreamQueueOptions()).ToArguments(), cancellationToken: cancellationToken);
    }
}
