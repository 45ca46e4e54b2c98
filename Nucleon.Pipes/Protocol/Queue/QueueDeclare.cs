using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.declare (50, 10).</summary>
internal readonly record struct QueueDeclare(
    string Queue, bool Passive, bool Durable, bool Exclusive, bool AutoDelete, bool NoWait,
    IDictionary<string, object?>? Arguments) : IAmqpMethod<QueueDeclare>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 10;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Queue) + 1 + AmqpEncoder.TableSize(Arguments);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteBits(Passive, Durable, Exclusive, AutoDelete, NoWait);
        encoder.WriteTable(Arguments);
    }

    public static QueueDeclare DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        var arguments = decoder.ReadTable();
        return new QueueDeclare(queue, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0, (bits & 16) != 0, arguments);
    }
}
