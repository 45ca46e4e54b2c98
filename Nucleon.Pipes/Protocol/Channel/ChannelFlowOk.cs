using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 20, channel (spec 1.5.2.x). Field order follows the spec's XML.

/// <summary>channel.flow-ok (20, 21).</summary>
internal readonly record struct ChannelFlowOk(bool Active) : IAmqpMethod<ChannelFlowOk>
{
    public static ushort ClassId => 20;
    public static ushort MethodId => 21;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteBits(Active);

    public static ChannelFlowOk DecodeArguments(ref AmqpDecoder decoder) => new((decoder.ReadOctet() & 1) != 0);
}
