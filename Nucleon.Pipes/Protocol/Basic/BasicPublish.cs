using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.publish (60, 40), followed by a content header and body.</summary>
internal readonly record struct BasicPublish(string Exchange, string RoutingKey, bool Mandatory, bool Immediate) : IAmqpMethod<BasicPublish>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 40;
    public static bool HasContent => true;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
        encoder.WriteBits(Mandatory, Immediate);
    }

    public static BasicPublish DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new BasicPublish(exchange, routingKey, (bits & 1) != 0, (bits & 2) != 0);
    }
}
