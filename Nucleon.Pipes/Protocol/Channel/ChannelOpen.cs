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
