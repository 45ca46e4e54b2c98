using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.close-ok (10, 51).</summary>
internal readonly record struct ConnectionCloseOk : IAmqpMethod<ConnectionCloseOk>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 51;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ConnectionCloseOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
