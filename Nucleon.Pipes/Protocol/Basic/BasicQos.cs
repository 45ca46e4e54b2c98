using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.qos (60, 10).</summary>
internal readonly record struct BasicQos(uint PrefetchSize, ushort PrefetchCount, bool Global) : IAmqpMethod<BasicQos>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 10;

    public int GetArgumentsSize() => 4 + 2 + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLong(PrefetchSize);
        encoder.WriteShort(PrefetchCount);
        encoder.WriteBits(Global);
    }

    public static BasicQos DecodeArguments(ref AmqpDecoder decoder)
    {
        uint prefetchSize = decoder.ReadLong();
        ushort prefetchCount = decoder.ReadShort();
        byte bits = decoder.ReadOctet();
        return new BasicQos(prefetchSize, prefetchCount, (bits & 1) != 0);
    }
}
