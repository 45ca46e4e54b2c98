using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.ack (60, 80), either direction (the broker sends it for publisher confirms).</summary>
internal readonly record struct BasicAck(ulong DeliveryTag, bool Multiple) : IAmqpMethod<BasicAck>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 80;

    public int GetArgumentsSize() => 8 + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLongLong(DeliveryTag);
        encoder.WriteBits(Multiple);
    }

    public static BasicAck DecodeArguments(ref AmqpDecoder decoder)
    {
        ulong deliveryTag = decoder.ReadLongLong();
        byte bits = decoder.ReadOctet();
        return new BasicAck(deliveryTag, (bits & 1) != 0);
    }
}
