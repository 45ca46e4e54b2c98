using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.nack (60, 120), RabbitMQ extension, either direction.</summary>
internal readonly record struct BasicNack(ulong DeliveryTag, bool Multiple, bool Requeue) : IAmqpMethod<BasicNack>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 120;

    public int GetArgumentsSize() => 8 + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLongLong(DeliveryTag);
        encoder.WriteBits(Multiple, Requeue);
    }

    public static BasicNack DecodeArguments(ref AmqpDecoder decoder)
    {
        ulong deliveryTag = decoder.ReadLongLong();
        byte bits = decoder.ReadOctet();
        return new BasicNack(deliveryTag, (bits & 1) != 0, (bits & 2) != 0);
    }
}
