using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.get-ok (60, 71), followed by a content header and body.</summary>
internal readonly record struct BasicGetOk(ulong DeliveryTag, bool Redelivered, string Exchange, string RoutingKey, uint MessageCount)
    : IAmqpMethod<BasicGetOk>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 71;
    public static bool HasContent => true;

    public int GetArgumentsSize() => 8 + 1 + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey) + 4;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLongLong(DeliveryTag);
        encoder.WriteBits(Redelivered);
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
        encoder.WriteLong(MessageCount);
    }

    public static BasicGetOk DecodeArguments(ref AmqpDecoder decoder)
    {
        ulong deliveryTag = decoder.ReadLongLong();
        byte bits = decoder.ReadOctet();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        uint messageCount = decoder.ReadLong();
        return new BasicGetOk(deliveryTag, (bits & 1) != 0, exchange, routingKey, messageCount);
    }
}
