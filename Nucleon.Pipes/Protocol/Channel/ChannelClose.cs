using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 20, channel (spec 1.5.2.x). Field order follows the spec's XML.

/// <summary>channel.close (20, 40), either direction. Class and method id name the method that caused the close, or 0.</summary>
internal readonly record struct ChannelClose(ushort ReplyCode, string ReplyText, ushort FailingClassId, ushort FailingMethodId)
    : IAmqpMethod<ChannelClose>
{
    public static ushort ClassId => 20;
    public static ushort MethodId => 40;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(ReplyText) + 4;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(ReplyCode);
        encoder.WriteShortString(ReplyText);
        encoder.WriteShort(FailingClassId);
        encoder.WriteShort(FailingMethodId);
    }

    public static ChannelClose DecodeArguments(ref AmqpDecoder decoder)
    {
        ushort replyCode = decoder.ReadShort();
        string replyText = decoder.ReadShortString();
        ushort classId = decoder.ReadShort();
        ushort methodId = decoder.ReadShort();
        return new ChannelClose(replyCode, replyText, classId, methodId);
    }
}
