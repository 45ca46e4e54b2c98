using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.cancel (60, 30). RabbitMQ also sends it to the client when a queue goes away (consumer_cancel_notify).</summary>
internal readonly record struct BasicCancel(string ConsumerTag, bool NoWait) : IAmqpMethod<BasicCancel>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 30;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(ConsumerTag) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShortString(ConsumerTag);
        encoder.WriteBits(NoWait);
    }

    public static BasicCancel DecodeArguments(ref AmqpDecoder decoder)
    {
        string consumerTag = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new BasicCancel(consumerTag, (bits & 1) != 0);
    }
}
