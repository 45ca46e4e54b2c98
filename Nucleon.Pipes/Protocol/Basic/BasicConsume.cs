using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.consume (60, 20).</summary>
internal readonly record struct BasicConsume(
    string Queue, string ConsumerTag, bool NoLocal, bool NoAck, bool Exclusive, bool NoWait, IDictionary<string, object?>? Arguments)
    : IAmqpMethod<BasicConsume>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.ShortStringSize(Queue) + AmqpEncoder.ShortStringSize(ConsumerTag) + 1 + AmqpEncoder.TableSize(Arguments);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteShortString(ConsumerTag);
        encoder.WriteBits(NoLocal, NoAck, Exclusive, NoWait);
        encoder.WriteTable(Arguments);
    }

    public static BasicConsume DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        string consumerTag = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        var arguments = decoder.ReadTable();
        return new BasicConsume(queue, consumerTag, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0, arguments);
    }
}
