using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.purge-ok (50, 31).</summary>
internal readonly record struct QueuePurgeOk(uint MessageCount) : IAmqpMethod<QueuePurgeOk>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 31;

    public int GetArgumentsSize() => 4;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteLong(MessageCount);

    public static QueuePurgeOk DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadLong());
}
