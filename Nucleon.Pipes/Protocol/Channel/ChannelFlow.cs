using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 20, channel (spec 1.5.2.x). Field order follows the spec's XML.

/// <summary>channel.flow (20, 20): asks the peer to stop (false) or resume (true) sending content.</summary>
internal readonly record struct ChannelFlow(bool Active) : IAmqpMethod<ChannelFlow>
{
    public static ushort ClassId => 20;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteBits(Active);

    public static ChannelFlow DecodeArguments(ref AmqpDecoder decoder) => new((decoder.ReadOctet() & 1) != 0);
}
