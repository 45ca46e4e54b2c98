using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.delete-ok (50, 41).</summary>
internal readonly record struct QueueDeleteOk(uint MessageCount) : IAmqpMethod<QueueDeleteOk>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 41;

    public int GetArgumentsSize() => 4;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteLong(MessageCount);

    public static QueueDeleteOk DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadLong());
}
