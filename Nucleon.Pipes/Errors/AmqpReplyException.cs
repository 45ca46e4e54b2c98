namespace Nucleon.Pipes;

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
