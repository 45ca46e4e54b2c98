using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.secure-ok (10, 21): the SASL response to a challenge.</summary>
internal readonly record struct ConnectionSecureOk(byte[] Response) : IAmqpMethod<ConnectionSecureOk>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 21;

    public int GetArgumentsSize() => 4 + (Response?.Length ?? 0);

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteLongString(Response.AsSpan());

    public static ConnectionSecureOk DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadLongStringBytes().ToArray());
}
