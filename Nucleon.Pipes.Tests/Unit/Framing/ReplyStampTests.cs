using System.Text;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Rpc;
using static Nucleon.Pipes.Tests.Unit.Framing.CodecTestHelpers;

namespace Nucleon.Pipes.Tests.Unit.Framing;

/// <summary>
/// RPC requests stamped in place (reply-to and correlation-id written into the content header, no string or
/// properties copy per call), and replies read from their property bytes without decoding them.
/// </summary>
public sealed class ReplyStampTests
{
    private static byte[] EncodeStamped(BasicProperties? properties, in ReplyStamp stamp)
    {
        int size = BasicPropertiesCodec.GetSize(properties, stamp);
        var buffer = new byte[size];
        var encoder = new AmqpEncoder(buffer);
        BasicPropertiesCodec.Write(ref encoder, properties, stamp);
        Assert.Equal(size, encoder.Position);
        return buffer;
    }

    [Theory]
    [InlineData(0, 1L, "0.1")]
    [InlineData(26, 255L, "1a.ff")]
    [InlineData(int.MaxValue, long.MaxValue, "7fffffff.7fffffffffffffff")]
    public void The_correlation_id_is_index_dot_version_in_lower_case_hex(int index, long version, string expected)
    {
        var stamp = new ReplyStamp("amq.rabbitmq.reply-to", index, version);
        Assert.Equal(expected, stamp.CorrelationId);
        Assert.Equal(expected.Length, stamp.CorrelationIdLength);
        Assert.Equal(expected, RpcCorrelation.Format(index, version));
        Assert.True(RpcCorrelation.TryParse(Encoding.ASCII.GetBytes(expected), out int i, out long v));
        Assert.Equal((index, version), (i, v));
        Assert.True(RpcCorrelation.TryParse(expected, out i, out v));
        Assert.Equal((index, version), (i, v));
    }

    [Fact]
    public void The_counted_length_is_the_formatted_length_at_every_digit_boundary()
    {
        Span<byte> id = stackalloc byte[ReplyStamp.MaxCorrelationIdLength];
        for (int shift = 0; shift < 63; shift++)
        {
            foreach (long version in new[] { (1L << shift) - 1, 1L << shift, (1L << shift) + 1 })
            {
                int index = (int)Math.Min(int.MaxValue, version);
                if (version <= 0 || index < 0)
                {
                    continue;
                }

                var stamp = new ReplyStamp("q", index, version);
                Assert.Equal(ReplyStamp.Format(id, index, version), stamp.CorrelationIdLength);
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("1a")]
    [InlineData(".5")]
    [InlineData("1.")]
    [InlineData("1.0")]
    [InlineData("1.5x")]
    [InlineData("g.5")]
    [InlineData("80000000.5")]
    [InlineData("1.5.6")]
    public void Another_clients_id_or_garbage_does_not_parse(string id)
    {
        Assert.False(RpcCorrelation.TryParse(Encoding.UTF8.GetBytes(id), out _, out _));
        Assert.False(RpcCorrelation.TryParse(id, out _, out _));
    }

    [Fact]
    public void A_stamped_request_carries_the_stamps_reply_to_and_id_and_every_other_property_as_given()
    {
        var given = new BasicProperties
        {
            ContentType = "application/json",
            Headers = new Dictionary<string, object?> { ["h"] = 1 },
            DeliveryMode = DeliveryMode.Persistent,
            CorrelationId = "the caller's own, replaced",
            ReplyTo = "the caller's own, replaced",
            MessageId = "m-1",
            Timestamp = new AmqpTimestamp(1_700_000_000),
            AppId = "tests",
        };

        var decoded = DecodeProperties(EncodeStamped(given, new ReplyStamp("amq.rabbitmq.reply-to", 3, 0x42)));

        Assert.Equal(given with { CorrelationId = "3.42", ReplyTo = "amq.rabbitmq.reply-to", Headers = null }, decoded with { Headers = null });
        Assert.Equal(1, decoded.Headers!["h"]);
    }

    [Fact]
    public void A_stamp_on_no_properties_writes_just_reply_to_and_the_id()
    {
        var decoded = DecodeProperties(EncodeStamped(null, new ReplyStamp("q", 0, 1)));
        Assert.Equal(new BasicProperties { CorrelationId = "0.1", ReplyTo = "q" }, decoded);
    }

    [Fact]
    public void No_stamp_writes_the_properties_unchanged()
    {
        var given = new BasicProperties { CorrelationId = "c", ReplyTo = "r", Priority = 1 };
        Assert.Equal(EncodeProperties(given), EncodeStamped(given, default));
        Assert.Equal(Hex("0000"), EncodeStamped(null, default));
    }

    [Fact]
    public void Stamping_a_request_allocates_nothing()
    {
        var buffer = new byte[128];
        var properties = new BasicProperties { ContentType = "text/plain" };
        Write(1); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 2; i < 1_000; i++)
        {
            Write(i);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());

        void Write(long version)
        {
            var stamp = new ReplyStamp("amq.rabbitmq.reply-to", 7, version);
            int size = BasicPropertiesCodec.GetSize(properties, stamp);
            var encoder = new AmqpEncoder(buffer.AsSpan(0, size));
            BasicPropertiesCodec.Write(ref encoder, properties, stamp);
        }
    }

    [Fact]
    public void The_plain_walk_finds_the_correlation_id_where_the_decoder_does()
    {
        var given = new BasicProperties
        {
            ContentType = "a", ContentEncoding = "b", DeliveryMode = DeliveryMode.Transient, Priority = 4, CorrelationId = "5.6",
            ReplyTo = "r", Expiration = "1", MessageId = "m", Timestamp = new AmqpTimestamp(9), Type = "t", UserId = "u", AppId = "p", ClusterId = "c",
        };
        byte[] bytes = EncodeProperties(given);

        Assert.True(BasicPropertiesCodec.TryWalkPlain(bytes, out var id));
        Assert.Equal("5.6", Encoding.UTF8.GetString(id));
        Assert.True(BasicPropertiesCodec.TryWalkPlain(EncodeProperties(new BasicProperties { MessageId = "m" }), out var none));
        Assert.True(none.IsEmpty);
    }

    [Fact]
    public void The_plain_walk_leaves_properties_with_headers_to_the_decoder() =>
        Assert.False(BasicPropertiesCodec.TryWalkPlain(EncodeProperties(new BasicProperties { Headers = new Dictionary<string, object?>(), CorrelationId = "1.1" }), out _));

    [Fact]
    public void The_plain_walk_refuses_what_the_decoder_refuses()
    {
        byte[] bytes = EncodeProperties(new BasicProperties { CorrelationId = "1.1", AppId = "app" });
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            byte[] truncated = bytes[..cut];
            Assert.Throws<AmqpProtocolException>(() => DecodeProperties(truncated));
            Assert.Throws<AmqpProtocolException>(() => BasicPropertiesCodec.TryWalkPlain(truncated, out _));
        }

        byte[] continuation = Hex("0001");
        Assert.Throws<AmqpProtocolException>(() => BasicPropertiesCodec.TryWalkPlain(continuation, out _));
    }

    [Fact]
    public void A_stamped_reply_carries_the_requests_id_as_given_and_every_property_of_its_own_including_reply_to()
    {
        var own = new BasicProperties
        {
            ContentType = "text/plain",
            Headers = new Dictionary<string, object?> { ["h"] = "v" },
            CorrelationId = "the handler's own, replaced",
            ReplyTo = "kept",
            MessageId = "reply-1",
            Priority = 2,
        };
        byte[] id = Encoding.UTF8.GetBytes("ünïcode-id from another client");

        var decoded = DecodeProperties(EncodeStamped(own, ReplyStamp.ForReply(id)));

        Assert.Equal(own with { CorrelationId = "ünïcode-id from another client", Headers = null }, decoded with { Headers = null });
        Assert.Equal("v", decoded.Headers!["h"]);
        Assert.Equal(new BasicProperties { CorrelationId = "" }, DecodeProperties(EncodeStamped(null, ReplyStamp.ForReply(ReadOnlyMemory<byte>.Empty))));
    }

    [Fact]
    public void A_reply_id_of_255_bytes_is_written_and_a_longer_one_refused()
    {
        byte[] longest = Encoding.ASCII.GetBytes(new string('x', 255));
        Assert.Equal(new string('x', 255), DecodeProperties(EncodeStamped(null, ReplyStamp.ForReply(longest))).CorrelationId);
        var error = Assert.Throws<ArgumentException>(() => ReplyStamp.ForReply(new byte[256]));
        Assert.Contains("256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stamping_a_reply_allocates_nothing()
    {
        var buffer = new byte[128];
        var id = Encoding.ASCII.GetBytes("3.42").AsMemory();
        var properties = new BasicProperties { ContentType = "text/plain" };
        Write(); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            Write();
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());

        void Write()
        {
            var stamp = ReplyStamp.ForReply(id);
            int size = BasicPropertiesCodec.GetSize(properties, stamp);
            var encoder = new AmqpEncoder(buffer.AsSpan(0, size));
            BasicPropertiesCodec.Write(ref encoder, properties, stamp);
        }
    }

    [Fact]
    public void The_plain_walk_finds_reply_to_and_tells_an_empty_property_from_an_absent_one()
    {
        Assert.True(BasicPropertiesCodec.TryWalkPlain(EncodeProperties(new BasicProperties { CorrelationId = "", ReplyTo = "amq.rabbitmq.reply-to.abc", AppId = "a" }),
            out ushort flags, out var id, out var replyTo));
        Assert.True(BasicPropertiesCodec.CarriesCorrelationId(flags));
        Assert.True(id.IsEmpty);
        Assert.Equal("amq.rabbitmq.reply-to.abc", Encoding.UTF8.GetString(replyTo));

        Assert.True(BasicPropertiesCodec.TryWalkPlain(EncodeProperties(new BasicProperties { AppId = "a" }), out flags, out _, out replyTo));
        Assert.False(BasicPropertiesCodec.CarriesCorrelationId(flags));
        Assert.False(BasicPropertiesCodec.CarriesReplyTo(flags));
        Assert.True(replyTo.IsEmpty);
    }
}
