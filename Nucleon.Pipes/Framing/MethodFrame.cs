using System.Buffers;
using System.Buffers.Binary;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Framing;

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
