using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 20, channel (spec 1.5.2.x). Field order follows the spec's XML.

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
