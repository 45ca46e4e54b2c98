using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 20, channel (spec 1.5.2.x). Field order follows the spec's XML.

/// <summary>channel.open (20, 10).</summary>
internal readonly record struct ChannelOpen : IAmqpMethod<ChannelOpen>
{
    public static ushort ClassId => 20;
    public static ushort MethodId => 10;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteOctet(0); // reserved-1 (out-of-band): empty short string

    public static ChannelOpen DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShortStringBytes();
        return default;
    }
}

/// <summary>channel.open-ok (20, 11).</summary>
internal readonly record struct ChannelOpenOk : IAmqpMethod<ChannelOpenOk>
{
    public static ushort ClassId => 20;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() => 4;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteLong(0); // reserved-1 (channel-id): empty long string

    public static ChannelOpenOk DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadLongStringBytes();
        return default;
    }
}

/// <summary>channel.flow (20, 20): asks the peer to stop (false) or resume (true) sending content.</summary>
internal readonly record struct ChannelFlow(bool Active) : IAmqpMethod<ChannelFlow>
{
    public static ushort ClassId => 20;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteBits(Active);

    public static ChannelFlow DecodeArguments(ref AmqpDecoder decoder) => new((decoder.ReadOctet() & 1) != 0);
}

/// <summary>channel.flow-ok (20, 21).</summary>
internal readonly record struct ChannelFlowOk(bool Active) : IAmqpMethod<ChannelFlowOk>
{
    public static ushort ClassId => 20;
    public static ushort MethodId => 21;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteBits(Active);

    public static ChannelFlowOk DecodeArguments(ref AmqpDecoder decoder) => new((decoder.ReadOctet() & 1) != 0);
}

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

/// <summary>channel.close-ok (20, 41).</summary>
internal readonly record struct ChannelCloseOk : IAmqpMethod<ChannelCloseOk>
{
    public static ushort ClassId => 20;
    public static ushort MethodId => 41;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ChannelCloseOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
