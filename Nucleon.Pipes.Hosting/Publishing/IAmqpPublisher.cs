namespace Nucleon.Pipes.Hosting;

/// <summary>
/// Confirmed publishing for application code, registered by <c>AddAmqpConnection</c> (keyed by the
/// connection's name; the default connection's also without a key). Each publish rents a confirm-mode
/// channel from the connection's pool, so callers never manage channels. The host's shutdown waits for
/// publishes still awaiting their confirm before it closes the connection.
/// </summary>
public interface IAmqpPublisher
{
    /// <summary>
    /// Publishes a message and completes when the broker has confirmed it. Throws
    /// <see cref="AmqpPublishNackedException"/> on nack, <see cref="AmqpMessageReturnedException"/> when a
    /// mandatory message could not be routed, and <see cref="AmqpConnectionLostException"/> when the
    /// connection went first (the outcome is unknown: publish again).
    /// </summary>
    Task PublishAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties = null,
        bool mandatory = false, CancellationToken cancellationToken = default);
}
