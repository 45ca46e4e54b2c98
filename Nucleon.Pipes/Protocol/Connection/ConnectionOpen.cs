using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.open (10, 40).</summary>
internal readonly record struct ConnectionOpen(string VirtualHost) : IAmqpMethod<ConnectionOpen>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 40;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(VirtualHost) + 1 + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShortString(VirtualHost);
        encoder.WriteOctet(0); // reserved-1 (capabilities): empty short string
        encoder.WriteOctet(0); // reserved-2 (insist): a bit, false
    }

    public static ConnectionOpen DecodeArguments(ref AmqpDecoder decoder)
    {
        string virtualHost = decoder.ReadShortString();
        decoder.ReadShortStringBytes();
        decoder.ReadOctet();
        return new ConnectionOpen(virtualHost);
    }
}
