namespace Nucleon.Pipes;

/// <summary>One message of a batch publish (see <see cref="BatchPublishing.PublishBatchAsync"/>).</summary>
/// <param name="Exchange">The exchange ("" for the default exchange).</param>
/// <param name="RoutingKey">The routing key (the queue name on the default exchange).</param>
/// <param name="Body">The body; copied when the message is published.</param>
/// <param name="Properties">The properties (e.g. a <see cref="BasicProperties.MessageId"/> for consumers to deduplicate on).</param>
/// <param name="Mandatory">Return the message (a failure with <see cref="AmqpMessageReturnedException"/>) when no queue takes it.</param>
public readonly record struct OutgoingMessage(string Exchange, string RoutingKey, ReadOnlyMemory<byte> Body, BasicProperties? Properties = null, bool Mandatory = false);
