using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.bind-ok (50, 21).</summary>
internal readonly record struct QueueBindOk : IAmqpMethod<QueueBindOk>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 21;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static QueueBindOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
