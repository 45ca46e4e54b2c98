using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.purge (50, 30).</summary>
internal readonly record struct QueuePurge(string Queue, bool NoWait) : IAmqpMethod<QueuePurge>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 30;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Queue) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteBits(NoWait);
    }

    public static QueuePurge DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new QueuePurge(queue, (bits & 1) != 0);
    }
}
