namespace Nucleon.Pipes;

/// <summary>The connection was closed with a reply code (by the broker, or by this client after a hard error).</summary>
public class AmqpConnectionException : AmqpReplyException
{
    /// <summary>Creates the exception from a connection.close.</summary>
#pragma warning disable RS0027 // the optional arguments' overload came first; the protected one takes a message and a cause instead
    public AmqpConnectionException(ushort replyCode, string replyText, ushort classId = 0, ushort methodId = 0)
        : base(replyCode, replyText, classId, methodId, Describe("Connection", replyCode, replyText, classId, methodId)) { }
#pragma warning restore RS0027

    /// <summary>Creates the exception with a custom message.</summary>
    protected AmqpConnectionException(ushort replyCode, string replyText, string message, Exception? inner)
        : base(replyCode, replyText, 0, 0, message, inner) { }
}
