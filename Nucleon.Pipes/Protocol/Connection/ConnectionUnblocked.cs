using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.unblocked (10, 61), RabbitMQ extension.</summary>
internal readonly record struct ConnectionUnblocked : IAmqpMethod<ConnectionUnblocked>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 61;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ConnectionUnblocked DecodeArguments(ref AmqpDecoder decoder) => default;
}
