using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.recover-ok (60, 111).</summary>
internal readonly record struct BasicRecoverOk : IAmqpMethod<BasicRecoverOk>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 111;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static BasicRecoverOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
