namespace Nucleon.Pipes;

/// <summary>A message of a batch that the broker did not confirm, and why.</summary>
/// <param name="Index">Its position in the batch.</param>
/// <param name="Message">The message itself, ready to publish again.</param>
/// <param name="Error">
/// Why: <see cref="AmqpPublishNackedException"/> (refused), <see cref="AmqpMessageReturnedException"/> (mandatory and
/// unroutable), <see cref="AmqpConnectionLostException"/> or <see cref="AmqpChannelException"/> (the channel went before its
/// confirm: it may or may not have arrived), <see cref="OperationCanceledException"/> (the batch was cancelled before
/// its confirm: it may still arrive), or <see cref="ArgumentException"/> (it could not be encoded; nothing was sent).
/// </param>
public readonly record struct PublishFailure(int Index, OutgoingMessage Message, Exception Error);
