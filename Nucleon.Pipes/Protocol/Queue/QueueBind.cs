using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.bind (50, 20).</summary>
internal readonly record struct QueueBind(
    string Queue, string Exchange, string RoutingKey, bool NoWait, IDictionary<string, object?>? Arguments)
    : IAmqpMethod<QueueBind>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.ShortStringSize(Queue) + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey)
        + 1 + AmqpEncoder.TableSize(Arguments);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
        encoder.WriteBits(NoWait);
        encoder.WriteTable(Arguments);
    }

    public static QueueBind DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        var arguments = decoder.ReadTable();
        return new QueueBind(queue, exchange, routingKey, (bits & 1) != 0, arguments);
    }
}
