namespace Nucleon.Pipes;

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
