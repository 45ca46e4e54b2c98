using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.recover (60, 110).</summary>
internal readonly record struct BasicRecover(bool Requeue) : IAmqpMethod<BasicRecover>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 110;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteBits(Requeue);

    public static BasicRecover DecodeArguments(ref AmqpDecoder decoder) => new((decoder.ReadOctet() & 1) != 0);
}
