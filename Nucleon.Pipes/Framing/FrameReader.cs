using System.Buffers;
using System.Buffers.Binary;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// Cuts frames out of a receive buffer without copying or allocating: from a span (the fast path, for
/// frames that lie wholly inside one segment) or from a multi-segment sequence.
/// </summary>
internal static class FrameReader
{
    /// <summary>
    /// Reads one frame that lies wholly inside <paramref name="buffer"/>. Returns false when the span holds
    /// less than a complete frame (the frame may continue in the next segment).
    /// </summary>
    /// <param name="buffer">Received bytes, starting at a frame boundary.</param>
    /// <param name="frameMax">The negotiated frame_max (whole frame, header and end included); 0 means no limit.</param>
    /// <param name="type">The frame type.</param>
    /// <param name="channel">The channel number.</param>
    /// <param name="payload">The payload without the 7-byte header and the frame-end octet (a slice of <paramref name="buffer"/>).</param>
    /// <param name="length">The frame's whole length, to step past it.</param>
    /// <exception cref="AmqpProtocolException">501 FRAME_ERROR: unknown frame type, oversized frame or a bad frame-end octet.</exception>
    public static bool TryReadFrame(ReadOnlySpan<byte> buffer, uint frameMax, out byte type, out ushort channel, out ReadOnlySpan<byte> payload, out int length)
    {
        payload = default;
        length = 0;
        if (buffer.Length < AmqpConstants.FrameHeaderSize)
        {
            type = 0;
            channel = 0;
            return false;
        }

        uint size = ReadHeader(buffer, frameMax, out type, out channel);
        long total = AmqpConstants.FrameOverhead + (long)size;
        if (buffer.Length < total)
        {
            return false;
        }

        CheckEnd(buffer[AmqpConstants.FrameHeaderSize + (int)size], type, channel);
        payload = buffer.Slice(AmqpConstants.FrameHeaderSize, (int)size);
        length = (int)total;
        return true;
    }

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

        uint size = ReadHeader(header, frameMax, out byte type, out ushort channel);
        long total = AmqpConstants.FrameOverhead + (long)size;
        if (buffer.Length < total)
        {
            return false;
        }

        CheckEnd(buffer.Slice(AmqpConstants.FrameHeaderSize + (long)size, 1).FirstSpan[0], type, channel);
        frame = new RawFrame(type, channel, buffer.Slice(AmqpConstants.FrameHeaderSize, size));
        buffer = buffer.Slice(total);
        return true;
    }

    // Both checks use the header alone, so a peer can't make us wait for (or buffer) a huge payload.
    private static uint ReadHeader(ReadOnlySpan<byte> header, uint frameMax, out byte type, out ushort channel)
    {
        type = header[0];
        channel = BinaryPrimitives.ReadUInt16BigEndian(header[1..]);
        uint size = BinaryPrimitives.ReadUInt32BigEndian(header[3..]);
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

        return size;
    }

    private static void CheckEnd(byte end, byte type, ushort channel)
    {
        if (end != AmqpConstants.FrameEnd)
        {
            throw new AmqpProtocolException(
                AmqpReplyCode.FrameError,
                $"A frame of type {type} on channel {channel} ends with 0x{end:X2} instead of 0xCE: the stream is out of sync.");
        }
    }
}
