using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.recover-async (60, 100): deprecated in the spec, still accepted by RabbitMQ.</summary>
internal readonly record struct BasicRecoverAsync(bool Requeue) : IAmqpMethod<BasicRecoverAsync>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 100;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteBits(Requeue);

    public static BasicRecoverAsync DecodeArguments(ref AmqpDecoder decoder) => new((decoder.ReadOctet() & 1) != 0);
}
