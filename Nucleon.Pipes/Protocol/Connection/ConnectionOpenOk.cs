using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.open-ok (10, 41).</summary>
internal readonly record struct ConnectionOpenOk : IAmqpMethod<ConnectionOpenOk>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 41;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteOctet(0); // reserved-1 (known-hosts): empty short string

    public static ConnectionOpenOk DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShortStringBytes();
        return default;
    }
}
