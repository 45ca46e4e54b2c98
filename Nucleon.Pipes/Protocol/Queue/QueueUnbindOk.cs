using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.unbind-ok (50, 51).</summary>
internal readonly record struct QueueUnbindOk : IAmqpMethod<QueueUnbindOk>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 51;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static QueueUnbindOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
