namespace Nucleon.Pipes.Channels;

/// <summary>
/// What a confirm channel remembers of a mandatory publish until its confirm, to know which publish a
/// basic.return belongs to. RabbitMQ sends the return before that publish's ack, but acks of earlier
/// publishes may still come in between, so "the next confirm" is not a safe guess; the return's exchange,
/// routing key and ids are. Default (no exchange): not mandatory, never returned.
/// </summary>
internal readonly record struct MandatoryPublish(string? Exchange, string RoutingKey, BasicProperties? Properties)
{
    /// <summary>
    /// True when <paramref name="returned"/> may be this publish: same exchange and routing key and, with
    /// <paramref name="sameIds"/>, the same message-id and correlation-id.
    /// </summary>
    public bool Matches(AmqpMessageReturnedException returned, bool sameIds) =>
        Exchange is not null
        && string.Equals(Exchange, returned.Exchange, StringComparison.Ordinal)
        && string.Equals(RoutingKey, returned.RoutingKey, StringComparison.Ordinal)
        && (!sameIds
            || (string.Equals(Properties?.MessageId, returned.Properties.MessageId, StringComparison.Ordinal)
                && string.Equals(Properties?.CorrelationId, returned.Properties.CorrelationId, StringComparison.Ordinal)));
}
