using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.update-secret-ok (10, 71), RabbitMQ extension.</summary>
internal readonly record struct ConnectionUpdateSecretOk : IAmqpMethod<ConnectionUpdateSecretOk>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 71;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ConnectionUpdateSecretOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
