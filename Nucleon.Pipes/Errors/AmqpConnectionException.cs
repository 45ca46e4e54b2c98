namespace Nucleon.Pipes;

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
