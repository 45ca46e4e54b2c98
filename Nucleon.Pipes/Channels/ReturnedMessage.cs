namespace Nucleon.Pipes;

/// <summary>A mandatory message the broker could not route (basic.return) on a channel without confirms.</summary>
public sealed class ReturnedMessage
{
    internal ReturnedMessage(ushort replyCode, string replyText, string exchange, string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body)
    {
        ReplyCode = replyCode;
        ReplyText = replyText;
        Exchange = exchange;
        RoutingKey = routingKey;
        Properties = properties;
        Body = body;
    }

    /// <summary>312 NO_ROUTE or 313 NO_CONSUMERS.</summary>
    public ushort ReplyCode { get; }

    /// <summary>The broker's reply text.</summary>
    public string ReplyText { get; }

    /// <summary>The exchange the message was published to.</summary>
    public string Exchange { get; }

    /// <summary>The routing key it was published with.</summary>
    public string RoutingKey { get; }

    /// <summary>The message's properties.</summary>
    public BasicProperties Properties { get; }

    /// <summary>The message body (a copy owned by this object).</summary>
    public ReadOnlyMemory<byte> Body { get; }
}
