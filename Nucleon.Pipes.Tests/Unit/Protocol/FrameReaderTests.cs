using System.Buffers;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using static Nucleon.Pipes.Tests.Unit.Protocol.CodecTestHelpers;

namespace Nucleon.Pipes.Tests.Unit.Protocol;

/// <summary>FrameReader, MethodFrame and ContentHeader against malformed, partial and fragmented input.</summary>
public class FrameReaderTests
{
    // Both paths (the span one for frames inside one segment, the sequence one) refuse the same input the same way.
    private static AmqpProtocolException ReadThrows(byte[] bytes, uint frameMax = FrameMax)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        var fromSequence = Assert.Throws<AmqpProtocolException>(() => FrameReader.TryReadFrame(ref buffer, frameMax, out _));
        var fromSpan = Assert.Throws<AmqpProtocolException>(() => FrameReader.TryReadFrame(bytes, frameMax, out _, out _, out _, out _));
        Assert.Equal(fromSequence.ReplyCode, fromSpan.ReplyCode);
        Assert.Equal(fromSequence.Message, fromSpan.Message);
        return fromSequence;
    }

    [Fact]
    public void SpanPath_ReadsFramesOneAfterAnother_AndStopsAtAPartialOne()
    {
        byte[] ack = EncodeMethod(1, new BasicAck(7, true));
        byte[] bytes = [.. ack, .. Hex("08 0000 00000000 CE"), .. ack.AsSpan(0, ack.Length - 1)];

        Assert.True(FrameReader.TryReadFrame(bytes, FrameMax, out byte type, out ushort channel, out var payload, out int length));
        Assert.Equal((AmqpConstants.FrameMethod, (ushort)1, ack.Length), (type, channel, length));
        Assert.Equal(new BasicAck(7, true), MethodFrame.Decode<BasicAck>(payload));
        Assert.True(FrameReader.TryReadFrame(bytes.AsSpan(length), FrameMax, out type, out _, out payload, out int second));
        Assert.Equal((AmqpConstants.FrameHeartbeat, 0, 8), (type, payload.Length, second));
        for (int available = 0; available < ack.Length; available++)
        {
            Assert.False(FrameReader.TryReadFrame(bytes.AsSpan(length + second, available), FrameMax, out _, out _, out _, out int none));
            Assert.Equal(0, none);
        }
    }

    [Fact]
    public void ReadsHeartbeat()
    {
        var buffer = new ReadOnlySequence<byte>(Hex("08 0000 00000000 CE"));
        Assert.True(FrameReader.TryReadFrame(ref buffer, FrameMax, out RawFrame frame));
        Assert.Equal(AmqpConstants.FrameHeartbeat, frame.Type);
        Assert.Equal(0, frame.Channel);
        Assert.True(frame.Payload.IsEmpty);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void ReadsFramesOneAfterAnother()
    {
        byte[] bytes = [.. EncodeMethod(1, new BasicAck(1, false)), .. Hex("08 0000 00000000 CE"), 0x01];
        var buffer = new ReadOnlySequence<byte>(bytes);

        Assert.True(FrameReader.TryReadFrame(ref buffer, FrameMax, out RawFrame first));
        Assert.Equal(new BasicAck(1, false), MethodFrame.Decode<BasicAck>(first.Payload));
        Assert.True(FrameReader.TryReadFrame(ref buffer, FrameMax, out RawFrame second));
        Assert.Equal(AmqpConstants.FrameHeartbeat, second.Type);
        Assert.False(FrameReader.TryReadFrame(ref buffer, FrameMax, out _));
        Assert.Equal(1, buffer.Length);
    }

    [Fact]
    public void WrongFrameEnd_IsFrameError()
    {
        var ex = ReadThrows(Hex("08 0000 00000000 CD"));
        Assert.Equal(AmqpReplyCode.FrameError, ex.ReplyCode);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(0x41)] // 'A': a peer answering with a protocol header
    public void UnknownFrameType_IsFrameError(byte type)
    {
        byte[] bytes = Hex("00 0000 00000000 CE");
        bytes[0] = type;
        Assert.Equal(AmqpReplyCode.FrameError, ReadThrows(bytes).ReplyCode);
    }

    [Fact]
    public void OversizedFrame_IsRejectedFromHeaderAlone()
    {
        // Only the 7-byte header has arrived; it claims 4089 bytes, one more than frame_max 4096 allows.
        var ex = ReadThrows(Hex("03 0001 00000FF9"), frameMax: 4096);
        Assert.Equal(AmqpReplyCode.FrameError, ex.ReplyCode);
    }

    [Fact]
    public void HugeDeclaredSize_IsRejectedWithoutAllocating() =>
        Assert.Equal(AmqpReplyCode.FrameError, ReadThrows(Hex("03 0001 FFFFFFFF"), frameMax: 4096).ReplyCode);

    [Fact]
    public void FrameOfExactlyFrameMax_IsAccepted()
    {
        byte[] bytes = new byte[4096];
        Hex("03 0001 00000FF8").CopyTo(bytes, 0);
        bytes[^1] = 0xCE;
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameReader.TryReadFrame(ref buffer, 4096, out RawFrame frame));
        Assert.Equal(4088, frame.Payload.Length);
    }

    [Fact]
    public void NoFrameMax_WaitsForTheWholeFrame()
    {
        // frame_max 0 (not negotiated): a large claimed size is not an error, but nothing is read or allocated yet.
        var buffer = new ReadOnlySequence<byte>(Hex("03 0001 7FFFFFFF 00 01"));
        Assert.False(FrameReader.TryReadFrame(ref buffer, 0, out _));
        Assert.Equal(9, buffer.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(12)]
    public void PartialFrame_ReturnsFalseAndLeavesBufferUntouched(int available)
    {
        byte[] whole = EncodeMethod(1, new BasicAck(1, false)); // 21 bytes
        var buffer = new ReadOnlySequence<byte>(whole, 0, available);
        ReadOnlySequence<byte> before = buffer;

        Assert.False(FrameReader.TryReadFrame(ref buffer, FrameMax, out _));
        Assert.Equal(before.Length, buffer.Length);
        Assert.Equal(before.Start, buffer.Start);
    }

    [Fact]
    public void PartialFrameMissingOnlyTheEndOctet_ReturnsFalse()
    {
        byte[] whole = EncodeMethod(1, new BasicAck(1, false));
        var buffer = new ReadOnlySequence<byte>(whole, 0, whole.Length - 1);
        Assert.False(FrameReader.TryReadFrame(ref buffer, FrameMax, out _));
        Assert.Equal(whole.Length - 1, buffer.Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(8)]
    public void FrameSplitAcrossSegments_IsReadAndDecoded(int segmentSize)
    {
        var deliver = new BasicDeliver("consumer-tag", 99, true, "exchange", "routing.key");
        byte[] bytes = [.. EncodeMethod(3, deliver), .. EncodeMethod(4, new BasicAck(99, true))];
        ReadOnlySequence<byte> buffer = Segmented(bytes, segmentSize);
        Assert.False(buffer.IsSingleSegment);

        Assert.True(FrameReader.TryReadFrame(ref buffer, FrameMax, out RawFrame first));
        Assert.Equal(3, first.Channel);
        Assert.Equal((ushort)60, MethodFrame.ReadIds(first.Payload).ClassId);
        Assert.Equal((ushort)60, MethodFrame.ReadIds(first.Payload).MethodId);
        Assert.Equal(deliver, MethodFrame.Decode<BasicDeliver>(first.Payload));

        Assert.True(FrameReader.TryReadFrame(ref buffer, FrameMax, out RawFrame second));
        Assert.Equal(4, second.Channel);
        Assert.Equal(new BasicAck(99, true), MethodFrame.Decode<BasicAck>(second.Payload));
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void LargeMultiSegmentPayload_IsDecoded()
    {
        var close = new ConnectionClose(541, new string('x', 255), 60, 40);
        ReadOnlySequence<byte> buffer = Segmented([.. EncodeMethod(0, close), .. EncodeMethod(0, close), .. EncodeMethod(0, close)], 100);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(FrameReader.TryReadFrame(ref buffer, FrameMax, out RawFrame frame));
            Assert.Equal(close, MethodFrame.Decode<ConnectionClose>(frame.Payload));
        }
    }

    [Fact]
    public void WrongEndOctetInLaterSegment_IsFrameError()
    {
        byte[] bytes = EncodeMethod(1, new BasicAck(1, false));
        bytes[^1] = 0x00;
        ReadOnlySequence<byte> buffer = Segmented(bytes, 4);
        var ex = Assert.Throws<AmqpProtocolException>(() => FrameReader.TryReadFrame(ref buffer, FrameMax, out _));
        Assert.Equal(AmqpReplyCode.FrameError, ex.ReplyCode);
    }

    [Fact]
    public void TruncatedMethodPayload_IsSyntaxError()
    {
        // queue.declare-ok whose consumer-count is cut short: the frame itself is well formed.
        byte[] payload = Hex("0032 000B 01 71 00000001 0000");
        var ex = Assert.Throws<AmqpProtocolException>(() => MethodFrame.Decode<QueueDeclareOk>(payload));
        Assert.Equal(AmqpReplyCode.SyntaxError, ex.ReplyCode);
    }

    [Fact]
    public void ShortStringLengthPastEnd_IsSyntaxError()
    {
        // basic.consume-ok claiming a 200-byte consumer tag with 3 bytes present
        byte[] payload = Hex("003C 0015 C8 616263");
        Assert.Equal(AmqpReplyCode.SyntaxError, Assert.Throws<AmqpProtocolException>(() => MethodFrame.Decode<BasicConsumeOk>(payload)).ReplyCode);
    }

    [Fact]
    public void LongStringLengthPastEnd_IsSyntaxError()
    {
        // connection.secure claiming a 2 GiB challenge
        byte[] payload = Hex("000A 0014 7FFFFFFF 00");
        Assert.Equal(AmqpReplyCode.SyntaxError, Assert.Throws<AmqpProtocolException>(() => MethodFrame.Decode<ConnectionSecure>(payload)).ReplyCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("003C 00")]
    public void PayloadShorterThanIds_IsSyntaxError(string hex)
    {
        byte[] payload = Hex(hex);
        Assert.Equal(AmqpReplyCode.SyntaxError, Assert.Throws<AmqpProtocolException>(() => MethodFrame.ReadIds(payload)).ReplyCode);
        Assert.Equal(AmqpReplyCode.SyntaxError, Assert.Throws<AmqpProtocolException>(() => MethodFrame.Decode<TxSelect>(payload)).ReplyCode);
    }

    [Fact]
    public void TrailingBytes_AreSyntaxError()
    {
        byte[] payload = Hex("003C 0050 0000000000000001 01 FF");
        var ex = Assert.Throws<AmqpProtocolException>(() => MethodFrame.Decode<BasicAck>(payload));
        Assert.Equal(AmqpReplyCode.SyntaxError, ex.ReplyCode);

        byte[] emptyMethod = Hex("005A 000B 00"); // tx.select-ok has no arguments
        Assert.Equal(AmqpReplyCode.SyntaxError, Assert.Throws<AmqpProtocolException>(() => MethodFrame.Decode<TxSelectOk>(emptyMethod)).ReplyCode);
    }

    [Fact]
    public void DecodeAsWrongMethod_IsCommandInvalid()
    {
        byte[] payload = Hex("003C 0050 0000000000000001 01"); // basic.ack
        var ex = Assert.Throws<AmqpProtocolException>(() => MethodFrame.Decode<BasicNack>(payload));
        Assert.Equal(AmqpReplyCode.CommandInvalid, ex.ReplyCode);
        Assert.Contains("basic.ack", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidUtf8InShortString_IsSyntaxError()
    {
        byte[] payload = Hex("003C 0015 02 C328");
        Assert.Equal(AmqpReplyCode.SyntaxError, Assert.Throws<AmqpProtocolException>(() => MethodFrame.Decode<BasicConsumeOk>(payload)).ReplyCode);
    }

    [Fact]
    public void ContentHeader_RoundTrip()
    {
        byte[] bytes = new byte[FrameWriter.ContentHeaderFrameSize(BasicProperties.Empty)];
        FrameWriter.WriteContentHeaderFrame(bytes, 2, 1_000_000_000_000, BasicProperties.Empty);
        var buffer = new ReadOnlySequence<byte>(bytes);

        Assert.True(FrameReader.TryReadFrame(ref buffer, FrameMax, out RawFrame frame));
        Assert.Equal(AmqpConstants.FrameHeader, frame.Type);
        Assert.Equal(2, frame.Channel);

        var decoder = new AmqpDecoder(frame.Payload.FirstSpan);
        (ushort classId, ulong bodySize) = ContentHeader.ReadPrefix(ref decoder);
        Assert.Equal((ushort)60, classId);
        Assert.Equal(1_000_000_000_000UL, bodySize);

        var (classId2, bodySize2, properties) = ContentHeader.Read(frame.Payload.FirstSpan);
        Assert.Equal((ushort)60, classId2);
        Assert.Equal(bodySize, bodySize2);
        Assert.True(properties.IsEmpty);
    }

    [Fact]
    public void ContentHeader_TruncatedPrefix_IsSyntaxError()
    {
        byte[] payload = Hex("003C 0000 00000000");
        Assert.Equal(AmqpReplyCode.SyntaxError, Assert.Throws<AmqpProtocolException>(() => ContentHeader.Read(payload)).ReplyCode);
    }

    [Fact]
    public void BodyFrames_ReadBackInOrder()
    {
        byte[] body = new byte[10_000];
        new Random(42).NextBytes(body);
        byte[] frames = new byte[FrameWriter.BodyFramesSize(body.Length, 4096)];
        FrameWriter.WriteBodyFrames(frames, 6, body, 4096);

        var buffer = new ReadOnlySequence<byte>(frames);
        var reassembled = new List<byte>();
        int count = 0;
        while (FrameReader.TryReadFrame(ref buffer, 4096, out RawFrame frame))
        {
            Assert.Equal(AmqpConstants.FrameBody, frame.Type);
            Assert.Equal(6, frame.Channel);
            reassembled.AddRange(frame.Payload.ToArray());
            count++;
        }

        Assert.Equal(3, count); // 4088 + 4088 + 1824
        Assert.Equal(body, reassembled);
    }
}
