using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.qos-ok (60, 11).</summary>
internal readonly record struct BasicQosOk : IAmqpMethod<BasicQosOk>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static BasicQosOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
