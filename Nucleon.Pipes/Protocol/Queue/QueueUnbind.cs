using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.unbind (50, 50). Unlike queue.bind it has no no-wait bit.</summary>
internal readonly record struct QueueUnbind(
    string Queue, string Exchange, string RoutingKey, IDictionary<string, object?>? Arguments)
    : IAmqpMethod<QueueUnbind>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 50;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.ShortStringSize(Queue) + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey)
        + AmqpEncoder.TableSize(Arguments);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
        encoder.WriteTable(Arguments);
    }

    public static QueueUnbind DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        var arguments = decoder.ReadTable();
        return new QueueUnbind(queue, exchange, routingKey, arguments);
    }
}
