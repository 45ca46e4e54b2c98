namespace Nucleon.Pipes;

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
