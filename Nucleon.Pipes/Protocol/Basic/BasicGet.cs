using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.get (60, 70).</summary>
internal readonly record struct BasicGet(string Queue, bool NoAck) : IAmqpMethod<BasicGet>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 70;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Queue) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteBits(NoAck);
    }

    public static BasicGet DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new BasicGet(queue, (bits & 1) != 0);
    }
}
