using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.delete (50, 40).</summary>
internal readonly record struct QueueDelete(string Queue, bool IfUnused, bool IfEmpty, bool NoWait) : IAmqpMethod<QueueDelete>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 40;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Queue) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteBits(IfUnused, IfEmpty, NoWait);
    }

    public static QueueDelete DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new QueueDelete(queue, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0);
    }
}
