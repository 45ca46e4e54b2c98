using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.return (60, 50), followed by a content header and body.</summary>
internal readonly record struct BasicReturn(ushort ReplyCode, string ReplyText, string Exchange, string RoutingKey) : IAmqpMethod<BasicReturn>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 50;
    public static bool HasContent => true;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.ShortStringSize(ReplyText) + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(ReplyCode);
        encoder.WriteShortString(ReplyText);
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
    }

    public static BasicReturn DecodeArguments(ref AmqpDecoder decoder)
    {
        ushort replyCode = decoder.ReadShort();
        string replyText = decoder.ReadShortString();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        return new BasicReturn(replyCode, replyText, exchange, routingKey);
    }
}
