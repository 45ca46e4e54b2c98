using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.close (10, 50), either direction. Class and method id name the method that caused the close, or 0.</summary>
internal readonly record struct ConnectionClose(ushort ReplyCode, string ReplyText, ushort FailingClassId, ushort FailingMethodId)
    : IAmqpMethod<ConnectionClose>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 50;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(ReplyText) + 4;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(ReplyCode);
        encoder.WriteShortString(ReplyText);
        encoder.WriteShort(FailingClassId);
        encoder.WriteShort(FailingMethodId);
    }

    public static ConnectionClose DecodeArguments(ref AmqpDecoder decoder)
    {
        ushort replyCode = decoder.ReadShort();
        string replyText = decoder.ReadShortString();
        ushort classId = decoder.ReadShort();
        ushort methodId = decoder.ReadShort();
        return new ConnectionClose(replyCode, replyText, classId, methodId);
    }
}
