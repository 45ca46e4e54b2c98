namespace Nucleon.Pipes;

/// <summary>A mandatory message could not be routed and the broker returned it (basic.return).</summary>
public sealed class AmqpMessageReturnedException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpMessageReturnedException(ushort replyCode, string replyText, string exchange, string routingKey)
        : this(replyCode, replyText, exchange, routingKey, BasicProperties.Empty)
    {
    }

    /// <summary>Creates the exception for a returned message with its properties.</summary>
    public AmqpMessageReturnedException(ushort replyCode, string replyText, string exchange, string routingKey, BasicProperties properties)
        : base($"The broker returned the message{Describe(properties)} published to exchange \"{exchange}\" with routing key \"{routingKey}\": {replyCode} {replyText}")
    {
        ArgumentNullException.ThrowIfNull(properties);
        ReplyCode = replyCode;
        ReplyText = replyText;
        Exchange = exchange;
        RoutingKey = routingKey;
        Properties = properties;
    }

    /// <summary>The reply code (312 NO_ROUTE, 313 NO_CONSUMERS).</summary>
    public ushort ReplyCode { get; }

    /// <summary>The reply text.</summary>
    public string ReplyText { get; }

    /// <summary>The exchange the message was published to.</summary>
    public string Exchange { get; }

    /// <summary>The routing key the message was published with.</summary>
    public string RoutingKey { get; }

    /// <summary>The returned message's properties as the broker sent them back (its <see cref="BasicProperties.MessageId"/>, <see cref="BasicProperties.CorrelationId"/>, headers...).</summary>
    public BasicProperties Properties { get; }

    /// <summary>
    /// On a confirm channel, the publish sequence number of the returned message (the confirm delivery tag,
    /// as <see cref="AmqpChannel.NextPublishSequenceNumber"/> gave it before the publish); 0 when unknown.
    /// </summary>
    public ulong SequenceNumber { get; internal set; }

    private static string Describe(BasicProperties? properties) =>
        properties?.MessageId is { } id ? $" (message-id \"{id}\")" : properties?.CorrelationId is { } correlation ? $" (correlation-id \"{correlation}\")" : "";
}
