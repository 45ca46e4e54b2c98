using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.update-secret (10, 70), RabbitMQ extension: replaces the credential (e.g. an expiring OAuth token).</summary>
internal readonly record struct ConnectionUpdateSecret(byte[] NewSecret, string Reason) : IAmqpMethod<ConnectionUpdateSecret>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 70;

    public int GetArgumentsSize() => 4 + (NewSecret?.Length ?? 0) + AmqpEncoder.ShortStringSize(Reason);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLongString(NewSecret.AsSpan());
        encoder.WriteShortString(Reason);
    }

    public static ConnectionUpdateSecret DecodeArguments(ref AmqpDecoder decoder)
    {
        byte[] newSecret = decoder.ReadLongStringBytes().ToArray();
        string reason = decoder.ReadShortString();
        return new ConnectionUpdateSecret(newSecret, reason);
    }
}
