using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.secure (10, 20), server to client: a SASL challenge.</summary>
internal readonly record struct ConnectionSecure(byte[] Challenge) : IAmqpMethod<ConnectionSecure>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() => 4 + (Challenge?.Length ?? 0);

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteLongString(Challenge.AsSpan());

    public static ConnectionSecure DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadLongStringBytes().ToArray());
}
