using System.Buffers;
using System.Buffers.Binary;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// One frame cut out of the receive buffer. <see cref="Payload"/> is a slice of that buffer, not a copy:
/// it is only valid until the reader that owns the buffer advances past it.
/// </summary>
internal readonly struct RawFrame
{
    public RawFrame(byte type, ushort channel, ReadOnlySequence<byte> payload)
    {
        Type = type;
        Channel = channel;
        Payload = payload;
    }

    /// <summary>1 method, 2 content header, 3 body, 8 heartbeat (see <see cref="AmqpConstants"/>).</summary>
    public byte Type { get; }

    public ushort Channel { get; }

    /// <summary>The payload without the 7-byte header and the frame-end octet.</summary>
    public ReadOnlySequence<byte> Payload { get; }
}

/// <summary>Cuts frames out of a (possibly multi-segment) receive buffer without copying or allocating.</summary>
internal static class FrameReader
{
    /// <summary>
    /// Reads one frame. Returns false when <paramref name="buffer"/> holds less than a complete frame, leaving it
    /// untouched; on success slices the frame off the front of <paramref name="buffer"/>.
    /// </summary>
    /// <param name="buffer">The bytes received so far.</param>
    /// <param name="frameMax">The negotiated frame_max (whole frame, header and end included); 0 means no limit.</param>
    /// <param name="frame">The frame read.</param>
    /// <exception cref="AmqpProtocolException">501 FRAME_ERROR: unknown frame type, oversized frame or a bad frame-end octet.</exception>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, uint frameMax, out RawFrame frame)
    {
        frame = default;
        if (buffer.Length < AmqpConstants.FrameHeaderSize)
        {
            return false;
        }

        // The 7-byte header may straddle segments; copy it only then.
        Span<byte> scratch = stackalloc byte[AmqpConstants.FrameHeaderSize];
        ReadOnlySpan<byte> header = scratch;
        if (buffer.FirstSpan.Length >= AmqpConstants.FrameHeaderSize)
        {
            header = buffer.FirstSpan;
        }
        else
        {
            buffer.Slice(0, AmqpConstants.FrameHeaderSize).CopyTo(scratch);
        }

        byte type = header[0];
        ushort channel = BinaryPrimitives.ReadUInt16BigEndian(header[1..]);
        uint size = BinaryPrimitives.ReadUInt32BigEndian(header[3..]);

        // Both checks use the header alone, so a peer can't make us wait for (or buffer) a huge payload.
        if (type is not (AmqpConstants.FrameMethod or AmqpConstants.FrameHeader or AmqpConstants.FrameBody or AmqpConstants.FrameHeartbeat))
        {
            throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"Unknown frame type {type} on channel {channel}.");
        }

        uint maxPayload = frameMax == 0
            ? uint.MaxValue
            : frameMax > AmqpConstants.FrameOverhead ? frameMax - AmqpConstants.FrameOverhead : 0;
        if (size > maxPayload)
        {
            throw new AmqpProtocolException(
                AmqpReplyCode.FrameError,
                $"A frame of type {type} on channel {channel} declares a {size}-byte payload; the negotiated frame_max {frameMax} allows at most {maxPayload}.");
        }

        long total = AmqpConstants.FrameOverhead + (long)size;
        if (buffer.Length < total)
        {
            return false;
        }

        ReadOnlySequence<byte> endOctet = buffer.Slice(AmqpConstants.FrameHeaderSize + (long)size, 1);
        byte end = endOctet.FirstSpan[0];
        if (end != AmqpConstants.FrameEnd)
        {
            throw new AmqpProtocolException(
                AmqpReplyCode.FrameError,
                $"A frame of type {type} on channel {channel} ends with 0x{end:X2} instead of 0xCE: the stream is out of sync.");
        }

        frame = new RawFrame(type, channel, buffer.Slice(AmqpConstants.FrameHeaderSize, size));
        buffer = buffer.Slice(total);
        return true;
    }
}

/// <summary>Decoding of method frame payloads (class id, method id, arguments).</summary>
internal static class MethodFrame
{
    /// <summary>Payloads up to this size are copied to the stack when they span several segments.</summary>
    private const int StackCopyLimit = 512;

    /// <summary>Reads the class id and method id from a contiguous method-frame payload.</summary>
    public static (ushort ClassId, ushort MethodId) ReadIds(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 4)
        {
            throw new AmqpProtocolException(AmqpReplyCode.SyntaxError, $"A method frame payload of {payload.Length} bytes is too short for its class and method id.");
        }

        return (BinaryPrimitives.ReadUInt16BigEndian(payload), BinaryPrimitives.ReadUInt16BigEndian(payload[2..]));
    }

    /// <summary>Reads the class id and method id from a method-frame payload that may span segments.</summary>
    public static (ushort ClassId, ushort MethodId) ReadIds(in ReadOnlySequence<byte> payload)
    {
        if (payload.FirstSpan.Length >= 4 || payload.Length < 4)
        {
            return ReadIds(payload.FirstSpan);
        }

        Span<byte> ids = stackalloc byte[4];
        payload.Slice(0, 4).CopyTo(ids);
        return ReadIds(ids);
    }

    /// <summary>
    /// Decodes a contiguous method-frame payload (ids included) into <typeparamref name="T"/>.
    /// </summary>
    /// <exception cref="AmqpProtocolException">
    /// 503 COMMAND_INVALID when the ids are not those of <typeparamref name="T"/>; 502 SYNTAX_ERROR when the payload
    /// is truncated or has bytes left over after the last argument.
    /// </exception>
    public static T Decode<T>(ReadOnlySpan<byte> payload) where T : struct, IAmqpMethod<T>
    {
        (ushort classId, ushort methodId) = ReadIds(payload);
        if (classId != T.ClassId || methodId != T.MethodId)
        {
            throw new AmqpProtocolException(
                AmqpReplyCode.CommandInvalid,
                $"Expected {MethodNames.Name(T.ClassId, T.MethodId)} but received {MethodNames.Name(classId, methodId)}.");
        }

        var decoder = new AmqpDecoder(payload[4..]);
        T method = T.DecodeArguments(ref decoder);
        if (decoder.Remaining != 0)
        {
            throw new AmqpProtocolException(
                AmqpReplyCode.SyntaxError,
                $"{MethodNames.Name(classId, methodId)} has {decoder.Remaining} unexpected bytes after its last argument.");
        }

        return method;
    }

    /// <summary>
    /// Decodes a method-frame payload that may span segments. A multi-segment payload is first copied into a
    /// temporary buffer; that is safe because decoded methods copy everything they keep (strings, byte arrays, tables).
    /// </summary>
    public static T Decode<T>(in ReadOnlySequence<byte> payload) where T : struct, IAmqpMethod<T>
    {
        if (payload.IsSingleSegment)
        {
            return Decode<T>(payload.FirstSpan);
        }

        // The payload is already in memory and bounded by frame_max, so its length is safe to allocate.
        int length = checked((int)payload.Length);
        if (length <= StackCopyLimit)
        {
            Span<byte> copy = stackalloc byte[length];
            payload.CopyTo(copy);
            return Decode<T>(copy);
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Span<byte> copy = rented.AsSpan(0, length);
            payload.CopyTo(copy);
            return Decode<T>(copy);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

/// <summary>Content header payload: class-id (2), weight (2), body-size (8), then the property flags and list.</summary>
internal static class ContentHeader
{
    /// <summary>Reads the fixed prefix; the decoder is left at the property flags.</summary>
    public static (ushort ClassId, ulong BodySize) ReadPrefix(ref AmqpDecoder d)
    {
        ushort classId = d.ReadShort();
        d.ReadShort(); // weight: unused
        ulong bodySize = d.ReadLongLong();
        return (classId, bodySize);
    }

    /// <summary>Reads a whole contiguous content header payload; 502 SYNTAX_ERROR on truncation or trailing bytes.</summary>
    public static (ushort ClassId, ulong BodySize, BasicProperties Properties) Read(ReadOnlySpan<byte> payload)
    {
        var decoder = new AmqpDecoder(payload);
        (ushort classId, ulong bodySize) = ReadPrefix(ref decoder);
        BasicProperties properties = BasicPropertiesCodec.Read(ref decoder);
        if (decoder.Remaining != 0)
        {
            throw new AmqpProtocolException(AmqpReplyCode.SyntaxError, $"A content header has {decoder.Remaining} unexpected bytes after its properties.");
        }

        return (classId, bodySize, properties);
    }
}
