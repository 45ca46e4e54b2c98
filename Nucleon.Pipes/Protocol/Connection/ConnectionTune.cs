using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.tune (10, 30), server to client: the server's limits (0 = no limit).</summary>
internal readonly record struct ConnectionTune(ushort ChannelMax, uint FrameMax, ushort Heartbeat) : IAmqpMethod<ConnectionTune>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 30;

    public int GetArgumentsSize() => 8;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(ChannelMax);
        encoder.WriteLong(FrameMax);
        encoder.WriteShort(Heartbeat);
    }

    public static ConnectionTune DecodeArguments(ref AmqpDecoder decoder)
    {
        ushort channelMax = decoder.ReadShort();
        uint frameMax = decoder.ReadLong();
        ushort heartbeat = decoder.ReadShort();
        return new ConnectionTune(channelMax, frameMax, heartbeat);
    }
}
