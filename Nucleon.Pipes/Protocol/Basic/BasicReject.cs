using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.reject (60, 90).</summary>
internal readonly record struct BasicReject(ulong DeliveryTag, bool Requeue) : IAmqpMethod<BasicReject>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 90;

    public int GetArgumentsSize() => 8 + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLongLong(DeliveryTag);
        encoder.WriteBits(Requeue);
    }

    public static BasicReject DecodeArguments(ref AmqpDecoder decoder)
    {
        ulong deliveryTag = decoder.ReadLongLong();
        byte bits = decoder.ReadOctet();
        return new BasicReject(deliveryTag, (bits & 1) != 0);
    }
}
