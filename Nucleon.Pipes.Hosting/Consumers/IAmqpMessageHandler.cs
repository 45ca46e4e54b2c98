namespace Nucleon.Pipes.Hosting;

/// <summary>
/// Handles one message of a hosted consumer (<c>AddAmqpConsumer&lt;THandler&gt;</c>). A new DI scope is
/// created per message and the handler is resolved from it, so it may take scoped services.
/// Settlement: returning normally acks the message; throwing nacks it as
/// <see cref="AmqpConsumerOptions.FailurePolicy"/> says. A handler that settles the message itself
/// (through the <see cref="AmqpMessageContext"/> or its <see cref="Message"/>) decides, and nothing more is sent.
/// </summary>
public interface IAmqpMessageHandler
{
    /// <summary>Handles the message. <paramref name="cancellationToken"/> fires when the host's shutdown timeout runs out.</summary>
    Task HandleAsync(AmqpMessageContext context, CancellationToken cancellationToken);
}
