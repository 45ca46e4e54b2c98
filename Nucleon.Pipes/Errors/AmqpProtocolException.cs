namespace Nucleon.Pipes;

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
