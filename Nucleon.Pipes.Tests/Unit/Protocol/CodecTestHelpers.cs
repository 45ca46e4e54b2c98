using System.Buffers;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Tests.Unit.Protocol;

/// <summary>Shared helpers: hex literals, frame encode/decode, multi-segment sequences.</summary>
internal static class CodecTestHelpers
{
    public const uint FrameMax = 131072;

    /// <summary>Parses "01 00 0A ..." (whitespace ignored).</summary>
    public static byte[] Hex(string hex) =>
        Convert.FromHexString(string.Concat(hex.Where(c => !char.IsWhiteSpace(c))));

    public static byte[] EncodeMethod<T>(ushort channel, in T method) where T : struct, IAmqpMethod<T>
    {
        byte[] buffer = new byte[FrameWriter.MethodFrameSize(method)];
        int written = FrameWriter.WriteMethodFrame(buffer, channel, method);
        Assert.Equal(buffer.Length, written);
        return buffer;
    }

    /// <summary>Encodes a method frame, reads it back with FrameReader and decodes it.</summary>
    public static T RoundTrip<T>(in T method, ushort channel = 7) where T : struct, IAmqpMethod<T>
    {
        byte[] bytes = EncodeMethod(channel, method);
        var buffer = new ReadOnlySequence<byte>(bytes);

        Assert.True(FrameReader.TryReadFrame(ref buffer, FrameMax, out RawFrame frame));
        Assert.True(buffer.IsEmpty);
        Assert.Equal(AmqpConstants.FrameMethod, frame.Type);
        Assert.Equal(channel, frame.Channel);
        Assert.Equal(bytes.Length - AmqpConstants.FrameOverhead, frame.Payload.Length);

        (ushort classId, ushort methodId) = MethodFrame.ReadIds(frame.Payload.FirstSpan);
        Assert.Equal(T.ClassId, classId);
        Assert.Equal(T.MethodId, methodId);
        Assert.Equal(4 + method.GetArgumentsSize(), (int)frame.Payload.Length);

        return MethodFrame.Decode<T>(frame.Payload.FirstSpan);
    }

    /// <summary>Cuts <paramref name="data"/> into segments of at most <paramref name="segmentSize"/> bytes.</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] data, int segmentSize)
    {
        var first = new Segment(data.AsMemory(0, Math.Min(segmentSize, data.Length)));
        Segment last = first;
        for (int offset = segmentSize; offset < data.Length; offset += segmentSize)
        {
            last = last.Append(data.AsMemory(offset, Math.Min(segmentSize, data.Length - offset)));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
