namespace Nucleon.Pipes;

/// <summary>Base class of every error that Nucleon.Pipes raises about AMQP.</summary>
public class AmqpException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AmqpException() { }

    /// <summary>Creates the exception with a message.</summary>
    public AmqpException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public AmqpException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>An error that carries an AMQP reply code and text, and the method that caused it.</summary>
public abstract class AmqpReplyException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    protected AmqpReplyException(ushort replyCode, string replyText, ushort classId, ushort methodId, string message, Exception? inner = null)
        : base(message, inner)
    {
        ReplyCode = replyCode;
        ReplyText = replyText;
        ClassId = classId;
        MethodId = methodId;
    }

    /// <summary>The AMQP reply code, see <see cref="AmqpReplyCode"/>.</summary>
    public ushort ReplyCode { get; }

    /// <summary>The reply text the peer sent.</summary>
    public string ReplyText { get; }

    /// <summary>The class id of the method that caused the error, or 0.</summary>
    public ushort ClassId { get; }

    /// <summary>The method id of the method that caused the error, or 0.</summary>
    public ushort MethodId { get; }

    internal static string Describe(string scope, ushort code, string text, ushort classId, ushort methodId) =>
        classId == 0
            ? $"{scope} closed by the broker: {code} {text}"
            : $"{scope} closed by the broker: {code} {text} (caused by {Protocol.MethodNames.Name(classId, methodId)})";
}

/// <summary>
/// The broker closed a channel (a soft error such as 404 NOT_FOUND, 406 PRECONDITION_FAILED or 403 ACCESS_REFUSED).
/// Only that channel is closed; the connection lives on.
/// </summary>
public sealed class AmqpChannelException : AmqpReplyException
{
    /// <summary>Creates the exception from a channel.close.</summary>
    public AmqpChannelException(ushort replyCode, string replyText, ushort classId = 0, ushort methodId = 0)
        : base(replyCode, replyText, classId, methodId, Describe("Channel", replyCode, replyText, classId, methodId)) { }
}

/// <summary>The connection was closed with a reply code (by the broker, or by this client after a hard error).</summary>
public class AmqpConnectionException : AmqpReplyException
{
    /// <summary>Creates the exception from a connection.close.</summary>
    public AmqpConnectionException(ushort replyCode, string replyText, ushort classId = 0, ushort methodId = 0)
        : base(replyCode, replyText, classId, methodId, Describe("Connection", replyCode, replyText, classId, methodId)) { }

    /// <summary>Creates the exception with a custom message.</summary>
    protected AmqpConnectionException(ushort replyCode, string replyText, string message, Exception? inner)
        : base(replyCode, replyText, 0, 0, message, inner) { }
}

/// <summary>
/// The peer sent bytes that break AMQP 0-9-1 framing or syntax. The connection is closed with
/// <see cref="AmqpReplyException.ReplyCode"/> (501 FRAME_ERROR, 502 SYNTAX_ERROR, 503, 505 or 540).
/// </summary>
public sealed class AmqpProtocolException : AmqpConnectionException
{
    /// <summary>Creates the exception.</summary>
    public AmqpProtocolException(ushort replyCode, string replyText)
        : base(replyCode, replyText, $"AMQP protocol error {replyCode}: {replyText}", null) { }
}

/// <summary>
/// The broker refused the credentials (403 ACCESS_REFUSED during the handshake), or no shared SASL
/// mechanism exists. A definitive answer: the connection gives up once every endpoint has been tried.
/// </summary>
public sealed class AmqpAuthenticationException : AmqpConnectionException
{
    /// <summary>Creates the exception.</summary>
    public AmqpAuthenticationException(string replyText)
        : base(AmqpReplyCode.AccessRefused, replyText, $"Authentication failed: {replyText}", null) { }
}

/// <summary>
/// The connection that an operation was running on was lost (socket error, heartbeat timeout,
/// server close). The operation's outcome is unknown: a publish that fails with this was not
/// confirmed and should be republished.
/// </summary>
public sealed class AmqpConnectionLostException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpConnectionLostException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>The broker answered a confirmed publish with basic.nack: it did not take responsibility for the message.</summary>
public sealed class AmqpPublishNackedException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpPublishNackedException(ulong sequenceNumber)
        : base($"The broker nacked publish #{sequenceNumber}; the message was not accepted and may be republished.") => SequenceNumber = sequenceNumber;

    /// <summary>The publish sequence number (confirm delivery tag) that was nacked.</summary>
    public ulong SequenceNumber { get; }
}

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

/// <summary>
/// The broker cancelled a consumer (basic.cancel from the server: its queue was deleted, or the
/// node holding it failed). The consume loop ends with this exception.
/// </summary>
public sealed class AmqpConsumerCancelledException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpConsumerCancelledException(string consumerTag)
        : base($"The broker cancelled consumer \"{consumerTag}\" (its queue was deleted or became unavailable).") => ConsumerTag = consumerTag;

    /// <summary>The cancelled consumer's tag.</summary>
    public string ConsumerTag { get; }
}

/// <summary>The channel was closed by the application (or returned to its pool) and can no longer be used.</summary>
public sealed class AmqpChannelClosedException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpChannelClosedException(string message) : base(message) { }
}

/// <summary>
/// The TLS handshake with the broker failed: its certificate was refused (unknown authority,
/// expired, wrong host name), the broker refused ours, or the connection broke during the handshake.
/// The message names the reason. Only a refused certificate ends the connection; a broken handshake is retried.
/// </summary>
public sealed class AmqpTlsException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpTlsException(string message, System.Net.Security.SslPolicyErrors policyErrors, Exception? innerException = null)
        : base(message, innerException) => PolicyErrors = policyErrors;

    internal AmqpTlsException(string message, System.Net.Security.SslPolicyErrors policyErrors, bool definitive, Exception? innerException)
        : this(message, policyErrors, innerException) => IsDefinitive = definitive;

    /// <summary>What was wrong with the broker's certificate (None when the failure was elsewhere).</summary>
    public System.Net.Security.SslPolicyErrors PolicyErrors { get; }

    /// <summary>
    /// True when the handshake was refused on certificate grounds (a validation failure on either side);
    /// false when the connection merely broke during the handshake, which reconnecting may fix.
    /// </summary>
    internal bool IsDefinitive { get; } = true;
}
