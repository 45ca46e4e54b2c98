using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.get-empty (60, 72).</summary>
internal readonly record struct BasicGetEmpty : IAmqpMethod<BasicGetEmpty>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 72;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteOctet(0); // reserved-1 (cluster-id): empty short string

    public static BasicGetEmpty DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShortStringBytes();
        return default;
    }
}
