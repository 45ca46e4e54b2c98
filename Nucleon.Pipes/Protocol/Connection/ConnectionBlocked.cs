using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.blocked (10, 60), RabbitMQ extension: the broker stopped reading publishes (resource alarm).</summary>
internal readonly record struct ConnectionBlocked(string Reason) : IAmqpMethod<ConnectionBlocked>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 60;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(Reason);

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteShortString(Reason);

    public static ConnectionBlocked DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadShortString());
}
