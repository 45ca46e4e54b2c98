using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.declare-ok (50, 11).</summary>
internal readonly record struct QueueDeclareOk(string Queue, uint MessageCount, uint ConsumerCount) : IAmqpMethod<QueueDeclareOk>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(Queue) + 8;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShortString(Queue);
        encoder.WriteLong(MessageCount);
        encoder.WriteLong(ConsumerCount);
    }

    public static QueueDeclareOk DecodeArguments(ref AmqpDecoder decoder) =>
        new(decoder.ReadShortString(), decoder.ReadLong(), decoder.ReadLong());
}
