using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 20, channel (spec 1.5.2.x). Field order follows the spec's XML.

/// <summary>channel.close-ok (20, 41).</summary>
internal readonly record struct ChannelCloseOk : IAmqpMethod<ChannelCloseOk>
{
    public static ushort ClassId => 20;
    public static ushort MethodId => 41;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ChannelCloseOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
