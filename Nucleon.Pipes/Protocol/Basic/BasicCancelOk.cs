using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.cancel-ok (60, 31).</summary>
internal readonly record struct BasicCancelOk(string ConsumerTag) : IAmqpMethod<BasicCancelOk>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 31;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(ConsumerTag);

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteShortString(ConsumerTag);

    public static BasicCancelOk DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadShortString());
}
