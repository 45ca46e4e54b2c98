using System.Buffers.Binary;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// Writes whole AMQP frames (spec 4.2.3): type (1), channel (2), payload size (4), payload, frame-end 0xCE.
/// Every writer has a size function; callers size the destination with it first, then write.
/// </summary>
internal static class FrameWriter
{
    /// <summary>class-id (2) + weight (2) + body-size (8), before the property flags.</summary>
    private const int ContentHeaderPrefixSize = 12;

    /// <summary>Size of the whole method frame: header, class and method id, arguments, frame-end.</summary>
    public static int MethodFrameSize<T>(in T m) where T : struct, IAmqpMethod<T> =>
        AmqpConstants.FrameOverhead + 4 + m.GetArgumentsSize();

    /// <summary>Writes a method frame into <paramref name="dest"/> and returns the number of bytes written.</summary>
    public static int WriteMethodFrame<T>(Span<byte> dest, ushort channel, in T m) where T : struct, IAmqpMethod<T>
    {
        var encoder = new AmqpEncoder(dest);
        encoder.WriteOctet(AmqpConstants.FrameMethod);
        encoder.WriteShort(channel);
        // The payload size is patched in afterwards, so the arguments are measured by writing them
        // rather than by a second GetArgumentsSize pass (which would count UTF-8 bytes twice).
        int sizeAt = encoder.ReserveLong();
        encoder.WriteShort(T.ClassId);
        encoder.WriteShort(T.MethodId);
        m.EncodeArguments(ref encoder);
        encoder.PatchLong(sizeAt, (uint)(encoder.Position - AmqpConstants.FrameHeaderSize));
        encoder.WriteOctet(AmqpConstants.FrameEnd);
        return encoder.Position;
    }

    /// <summary>Size of a content header frame carrying <paramref name="properties"/>.</summary>
    public static int ContentHeaderFrameSize(BasicProperties? properties) => ContentHeaderFrameSize(properties, default);

    /// <summary>Size of a content header frame carrying <paramref name="properties"/> stamped with <paramref name="stamp"/>.</summary>
    public static int ContentHeaderFrameSize(BasicProperties? properties, in ReplyStamp stamp) =>
        AmqpConstants.FrameOverhead + ContentHeaderPrefixSize + BasicPropertiesCodec.GetSize(properties, stamp);

    /// <summary>Writes a basic-class content header frame and returns the number of bytes written.</summary>
    public static int WriteContentHeaderFrame(Span<byte> dest, ushort channel, ulong bodySize, BasicProperties? properties) =>
        WriteContentHeaderFrame(dest, channel, bodySize, properties, default);

    /// <summary>As above, with reply-to and correlation-id from <paramref name="stamp"/> when it is set.</summary>
    public static int WriteContentHeaderFrame(Span<byte> dest, ushort channel, ulong bodySize, BasicProperties? properties, in ReplyStamp stamp)
    {
        var encoder = new AmqpEncoder(dest);
        encoder.WriteOctet(AmqpConstants.FrameHeader);
        encoder.WriteShort(channel);
        int sizeAt = encoder.ReserveLong();
        encoder.WriteShort(BasicPublish.ClassId); // content class 60 (basic)
        encoder.WriteShort(0); // weight: unused, must be zero
        encoder.WriteLongLong(bodySize);
        BasicPropertiesCodec.Write(ref encoder, properties, stamp);
        encoder.PatchLong(sizeAt, (uint)(encoder.Position - AmqpConstants.FrameHeaderSize));
        encoder.WriteOctet(AmqpConstants.FrameEnd);
        return encoder.Position;
    }

    /// <summary>
    /// Total size of the body frames for a body of <paramref name="bodyLength"/> bytes: each frame carries at most
    /// frameMax - 8 bytes of payload; frameMax 0 means no limit (one frame); an empty body needs no frame at all.
    /// </summary>
    public static int BodyFramesSize(int bodyLength, int frameMax)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bodyLength);
        if (bodyLength == 0)
        {
            return 0;
        }

        long maxPayload = MaxBodyPayload(frameMax);
        long frames = (bodyLength + maxPayload - 1) / maxPayload;
        return checked((int)(bodyLength + (frames * AmqpConstants.FrameOverhead)));
    }

    /// <summary>Splits <paramref name="body"/> into body frames; returns the number of bytes written.</summary>
    public static int WriteBodyFrames(Span<byte> dest, ushort channel, ReadOnlySpan<byte> body, int frameMax)
    {
        int maxPayload = MaxBodyPayload(frameMax);
        int written = 0;
        while (!body.IsEmpty)
        {
            int chunk = Math.Min(body.Length, maxPayload);
            Span<byte> frame = dest.Slice(written, chunk + AmqpConstants.FrameOverhead);
            frame[0] = AmqpConstants.FrameBody;
            BinaryPrimitives.WriteUInt16BigEndian(frame[1..], channel);
            BinaryPrimitives.WriteUInt32BigEndian(frame[3..], (uint)chunk);
            body[..chunk].CopyTo(frame[AmqpConstants.FrameHeaderSize..]);
            frame[^1] = AmqpConstants.FrameEnd;
            written += frame.Length;
            body = body[chunk..];
        }

        return written;
    }

    /// <summary>Writes the 8-byte heartbeat frame (type 8, channel 0, empty payload).</summary>
    public static void WriteHeartbeat(Span<byte> dest)
    {
        Span<byte> frame = dest[..AmqpConstants.FrameOverhead];
        frame.Clear();
        frame[0] = AmqpConstants.FrameHeartbeat;
        frame[7] = AmqpConstants.FrameEnd;
    }

    /// <summary>Writes "AMQP" 0 0 9 1 and returns 8.</summary>
    public static int WriteProtocolHeader(Span<byte> dest)
    {
        AmqpConstants.ProtocolHeader.CopyTo(dest);
        return AmqpConstants.ProtocolHeader.Length;
    }

    internal static int MaxBodyPayload(int frameMax)
    {
        if (frameMax == 0)
        {
            // No negotiated limit: the whole body goes in one frame (the size must still fit the int length).
            return int.MaxValue - AmqpConstants.FrameOverhead;
        }

        if (frameMax <= AmqpConstants.FrameOverhead)
        {
            throw new ArgumentOutOfRangeException(nameof(frameMax), frameMax, "frame_max must be 0 (no limit) or leave room for a payload.");
        }

        return frameMax - AmqpConstants.FrameOverhead;
    }
}
