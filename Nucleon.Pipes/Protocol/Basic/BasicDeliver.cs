using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.deliver (60, 60), followed by a content header and body.</summary>
internal readonly record struct BasicDeliver(string ConsumerTag, ulong DeliveryTag, bool Redelivered, string Exchange, string RoutingKey)
    : IAmqpMethod<BasicDeliver>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 60;
    public static bool HasContent => true;

    public int GetArgumentsSize() =>
        AmqpEncoder.ShortStringSize(ConsumerTag) + 8 + 1 + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShortString(ConsumerTag);
        encoder.WriteLongLong(DeliveryTag);
        encoder.WriteBits(Redelivered);
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
    }

    public static BasicDeliver DecodeArguments(ref AmqpDecoder decoder)
    {
        string consumerTag = decoder.ReadShortString();
        ulong deliveryTag = decoder.ReadLongLong();
        byte bits = decoder.ReadOctet();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        return new BasicDeliver(consumerTag, deliveryTag, (bits & 1) != 0, exchange, routingKey);
    }
}
