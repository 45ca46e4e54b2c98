namespace Nucleon.Pipes;

/// <summary>A mandatory message could not be routed and the broker returned it (basic.return).</summary>
public sealed class AmqpMessageReturnedException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpMessageReturnedException(ushort replyCode, string replyText, string exchange, string routingKey)
        : base($"The broker returned the message published to exchange \"{exchange}\" with routing key \"{routingKey}\": {replyCode} {replyText}")
    {
        ReplyCode = replyCode;
        ReplyText = replyText;
        Exchange = exchange;
        RoutingKey = routingKey;
    }

    /// <summary>The reply code (312 NO_ROUTE, 313 NO_CONSUMERS).</summary>
    public ushort ReplyCode { get; }

    /// <summary>The reply text.</summary>
    public string ReplyText { get; }

    /// <summary>The exchange the message was published to.</summary>
    public string Exchange { get; }

    /// <summary>The routing key the message was published with.</summary>
    public string RoutingKey { get; }
}
