using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using static Nucleon.Pipes.Tests.Unit.Protocol.CodecTestHelpers;

namespace Nucleon.Pipes.Tests.Unit.Protocol;

/// <summary>
/// Byte-for-byte checks against frames worked out by hand from the spec (section 4.2 and the class XML):
/// frame = type(1) channel(2) size(4) payload 0xCE; method payload = class(2) method(2) arguments.
/// Bits are packed LSB first into one octet. Empty tables are a 4-byte zero length.
/// </summary>
public class WireFormatTests
{
    [Fact]
    public void QueueDeclare()
    {
        byte[] expected = Hex("""
            01 0001 0000000E
            0032 000A
            0000
            02 7131
            02
            00000000
            CE
            """); // ticket 0, queue "q1", durable = bit 1, empty arguments
        Assert.Equal(expected, EncodeMethod(1, new QueueDeclare("q1", false, true, false, false, false, null)));
    }

    [Fact]
    public void BasicPublish()
    {
        byte[] expected = Hex("""
            01 0001 0000000D
            003C 0028
            0000
            02 6578
            02 726B
            01
            CE
            """); // ticket 0, exchange "ex", routing key "rk", mandatory = bit 0
        Assert.Equal(expected, EncodeMethod(1, new BasicPublish("ex", "rk", true, false)));
    }

    [Fact]
    public void BasicAck()
    {
        byte[] expected = Hex("""
            01 0002 0000000D
            003C 0050
            0102030405060708
            01
            CE
            """);
        Assert.Equal(expected, EncodeMethod(2, new BasicAck(0x0102030405060708, true)));
    }

    [Fact]
    public void BasicNack_RequeueIsBitOne()
    {
        byte[] expected = Hex("01 0001 0000000D 003C 0078 0000000000000001 02 CE");
        Assert.Equal(expected, EncodeMethod(1, new BasicNack(1, false, true)));
    }

    [Fact]
    public void BasicDeliver()
    {
        byte[] expected = Hex("""
            01 0001 00000013
            003C 003C
            02 6374
            0000000000000005
            01
            00
            01 6B
            CE
            """); // consumer tag "ct", delivery tag 5, redelivered, exchange "", routing key "k"
        Assert.Equal(expected, EncodeMethod(1, new BasicDeliver("ct", 5, true, "", "k")));
    }

    [Fact]
    public void BasicConsume_NoAckAndExclusive()
    {
        byte[] expected = Hex("""
            01 0001 0000000E
            003C 0014
            0000
            01 71
            00
            06
            00000000
            CE
            """); // queue "q", server-named tag, no-local bit 0 clear, no-ack bit 1, exclusive bit 2
        Assert.Equal(expected, EncodeMethod(1, new BasicConsume("q", "", false, true, true, false, null)));
    }

    [Fact]
    public void ChannelClose()
    {
        byte[] expected = Hex("""
            01 0003 0000000E
            0014 0028
            0196
            03 626164
            0032 000A
            CE
            """); // 406 "bad", caused by queue.declare (50, 10)
        Assert.Equal(expected, EncodeMethod(3, new ChannelClose(406, "bad", 50, 10)));
    }

    [Fact]
    public void ChannelOpenOk_ReservedLongString()
    {
        Assert.Equal(Hex("01 0001 00000008 0014 000B 00000000 CE"), EncodeMethod(1, new ChannelOpenOk()));
    }

    [Fact]
    public void ConnectionTuneOk()
    {
        byte[] expected = Hex("""
            01 0000 0000000C
            000A 001F
            07FF
            00020000
            003C
            CE
            """); // channel-max 2047, frame-max 131072, heartbeat 60
        Assert.Equal(expected, EncodeMethod(0, new ConnectionTuneOk(2047, 131072, 60)));
    }

    [Fact]
    public void ConnectionOpen_ReservedFields()
    {
        // virtual-host "/", reserved-1 empty short string, reserved-2 bit clear
        Assert.Equal(Hex("01 0000 00000008 000A 0028 01 2F 00 00 CE"), EncodeMethod(0, new ConnectionOpen("/")));
    }

    [Fact]
    public void ConnectionStartOk_ResponseIsLongString()
    {
        byte[] expected = Hex("""
            01 0000 0000001C
            000A 000B
            00000000
            05 504C41494E
            00000004 00750070
            05 656E5F5553
            CE
            """); // empty client properties, "PLAIN", response "\0u\0p", "en_US"
        var m = new ConnectionStartOk(null, "PLAIN", [0, (byte)'u', 0, (byte)'p'], "en_US");
        Assert.Equal(expected, EncodeMethod(0, m));
    }

    [Fact]
    public void ExchangeDeclare_BitOrder()
    {
        byte[] expected = Hex("""
            01 0001 00000013
            0028 000A
            0000
            01 78
            05 746F706963
            0A
            00000000
            CE
            """); // exchange "x", type "topic", durable (bit 1) and internal (bit 3)
        Assert.Equal(expected, EncodeMethod(1, new ExchangeDeclare("x", "topic", false, true, false, true, false, null)));
    }

    [Fact]
    public void QueueDelete_IfEmptyIsBitOne()
    {
        Assert.Equal(Hex("01 0001 00000009 0032 0028 0000 01 71 02 CE"), EncodeMethod(1, new QueueDelete("q", false, true, false)));
    }

    [Fact]
    public void ContentHeader_NoProperties()
    {
        byte[] expected = Hex("""
            02 0001 0000000E
            003C 0000
            000000000000000A
            0000
            CE
            """); // class 60, weight 0, body size 10, no property flags
        byte[] actual = new byte[FrameWriter.ContentHeaderFrameSize(null)];
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(expected.Length, FrameWriter.WriteContentHeaderFrame(actual, 1, 10, null));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void BodyFrames_SplitAtFrameMax()
    {
        byte[] body = Hex("00 11 22 33 44 55 66 77 88 99");
        byte[] expected = Hex("""
            03 0001 00000004 00112233 CE
            03 0001 00000004 44556677 CE
            03 0001 00000002 8899 CE
            """); // frame_max 12 leaves 4 payload bytes per frame
        Assert.Equal(expected.Length, FrameWriter.BodyFramesSize(body.Length, 12));
        byte[] actual = new byte[expected.Length];
        Assert.Equal(expected.Length, FrameWriter.WriteBodyFrames(actual, 1, body, 12));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void BodyFrames_ExactMultipleOfFrameMax()
    {
        byte[] body = Hex("01 02 03 04 05 06 07 08");
        byte[] expected = Hex("03 0005 00000004 01020304 CE 03 0005 00000004 05060708 CE");
        Assert.Equal(expected.Length, FrameWriter.BodyFramesSize(body.Length, 12));
        byte[] actual = new byte[expected.Length];
        Assert.Equal(expected.Length, FrameWriter.WriteBodyFrames(actual, 5, body, 12));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void BodyFrames_NoLimitIsOneFrame()
    {
        byte[] body = new byte[100_000];
        Assert.Equal(100_008, FrameWriter.BodyFramesSize(body.Length, 0));
        byte[] actual = new byte[100_008];
        Assert.Equal(actual.Length, FrameWriter.WriteBodyFrames(actual, 1, body, 0));
        Assert.Equal(Hex("03 0001 000186A0"), actual[..7]);
        Assert.Equal(0xCE, actual[^1]);
    }

    [Fact]
    public void BodyFrames_EmptyBodyHasNoFrames()
    {
        Assert.Equal(0, FrameWriter.BodyFramesSize(0, 4096));
        Assert.Equal(0, FrameWriter.WriteBodyFrames([], 1, [], 4096));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(8)]
    public void BodyFrames_RejectFrameMaxWithoutRoomForPayload(int frameMax) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameWriter.BodyFramesSize(10, frameMax));

    [Fact]
    public void Heartbeat()
    {
        byte[] actual = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        FrameWriter.WriteHeartbeat(actual);
        Assert.Equal(Hex("08 0000 00000000 CE"), actual);
    }

    [Fact]
    public void ProtocolHeader()
    {
        byte[] actual = new byte[8];
        Assert.Equal(8, FrameWriter.WriteProtocolHeader(actual));
        Assert.Equal(Hex("414D5150 00 00 09 01"), actual);
    }

    [Fact]
    public void MethodFrameSizeMatchesBytesWritten()
    {
        var m = new QueueBind("queue-é", "amq.topic", "a.*", false, null);
        Assert.Equal(FrameWriter.MethodFrameSize(m), EncodeMethod(9, m).Length);
    }

    [Fact]
    public void ShortStringOver255Bytes_Throws()
    {
        var tooLong = new QueueDeclare(new string('a', 256), false, false, false, false, false, null);
        Assert.Throws<ArgumentException>(() => EncodeMethod(1, tooLong));

        // 128 two-byte characters: 128 chars but 256 bytes of UTF-8.
        var tooLongUtf8 = new BasicPublish("", new string('é', 128), false, false);
        Assert.Throws<ArgumentException>(() => EncodeMethod(1, tooLongUtf8));

        // Exactly 255 bytes is fine.
        Assert.Equal(255, RoundTrip(new BasicConsumeOk(new string('b', 255))).ConsumerTag.Length);
    }
}
