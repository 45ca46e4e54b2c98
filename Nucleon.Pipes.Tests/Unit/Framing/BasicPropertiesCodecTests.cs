using Nucleon.Pipes.Framing;
using static Nucleon.Pipes.Tests.Unit.Framing.CodecTestHelpers;

namespace Nucleon.Pipes.Tests.Unit.Framing;

public class BasicPropertiesCodecTests
{
    private static BasicProperties All() => new()
    {
        ContentType = "application/json",
        ContentEncoding = "gzip",
        Headers = new Dictionary<string, object?> { ["h"] = 1, ["nested"] = new Dictionary<string, object?> { ["x"] = "y" } },
        DeliveryMode = DeliveryMode.Persistent,
        Priority = 9,
        CorrelationId = "corr",
        ReplyTo = "amq.rabbitmq.reply-to",
        Expiration = "60000",
        MessageId = "msg-1",
        Timestamp = new AmqpTimestamp(1_700_000_000),
        Type = "order.created",
        UserId = "guest",
        AppId = "tests",
        ClusterId = "cluster",
    };

    /// <summary>Each property alone, with its flag bit (bit 15 = content-type ... bit 2 = cluster-id).</summary>
    public static TheoryData<int, ushort> EachProperty()
    {
        var data = new TheoryData<int, ushort>();
        for (int i = 0; i < 14; i++)
        {
            data.Add(i, (ushort)(1 << (15 - i)));
        }

        return data;
    }

    private static BasicProperties Only(int index, BasicProperties source) => index switch
    {
        0 => new() { ContentType = source.ContentType },
        1 => new() { ContentEncoding = source.ContentEncoding },
        2 => new() { Headers = source.Headers },
        3 => new() { DeliveryMode = source.DeliveryMode },
        4 => new() { Priority = source.Priority },
        5 => new() { CorrelationId = source.CorrelationId },
        6 => new() { ReplyTo = source.ReplyTo },
        7 => new() { Expiration = source.Expiration },
        8 => new() { MessageId = source.MessageId },
        9 => new() { Timestamp = source.Timestamp },
        10 => new() { Type = source.Type },
        11 => new() { UserId = source.UserId },
        12 => new() { AppId = source.AppId },
        13 => new() { ClusterId = source.ClusterId },
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    private static BasicProperties Zeroes() => new()
    {
        ContentType = "",
        ContentEncoding = "",
        Headers = new Dictionary<string, object?>(),
        DeliveryMode = 0,
        Priority = 0,
        CorrelationId = "",
        ReplyTo = "",
        Expiration = "",
        MessageId = "",
        Timestamp = new AmqpTimestamp(0),
        Type = "",
        UserId = "",
        AppId = "",
        ClusterId = "",
    };

    [Fact]
    public void Content_type_and_delivery_mode_match_hand_computed_bytes()
    {
        var properties = new BasicProperties { ContentType = "text/plain", DeliveryMode = DeliveryMode.Persistent };
        // flags 0x8000 (content-type) | 0x1000 (delivery-mode); shortstr "text/plain"; octet 2.
        byte[] expected = Hex("9000 0A 746578742F706C61696E 02");

        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(EncodeProperties(properties)));
        var decoded = DecodeProperties(expected);
        Assert.Equal("text/plain", decoded.ContentType);
        Assert.Equal(DeliveryMode.Persistent, decoded.DeliveryMode);
        Assert.Null(decoded.Priority);
        Assert.Null(decoded.Headers);
    }

    [Fact]
    public void Priority_timestamp_and_headers_match_hand_computed_bytes()
    {
        var properties = new BasicProperties
        {
            Headers = new Dictionary<string, object?> { ["a"] = true },
            Priority = 0,
            Timestamp = new AmqpTimestamp(0x0102030405060708),
        };
        // flags 0x2000 | 0x0800 | 0x0040 = 0x2840; table (4 + 4); priority 00; timestamp.
        byte[] expected = Hex("2840 00000004 01 61 74 01 00 0102030405060708");

        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(EncodeProperties(properties)));
    }

    [Fact]
    public void All_fourteen_properties_round_trip_and_set_every_flag()
    {
        byte[] bytes = EncodeProperties(All());
        Assert.Equal(0xFFFC, (bytes[0] << 8) | bytes[1]);

        AssertEquivalent(All(), DecodeProperties(bytes));
    }

    [Theory]
    [MemberData(nameof(EachProperty))]
    public void Each_property_alone_round_trips_with_only_its_flag(int index, ushort flag)
    {
        var properties = Only(index, All());
        byte[] bytes = EncodeProperties(properties);
        Assert.Equal(flag, (ushort)((bytes[0] << 8) | bytes[1]));

        AssertEquivalent(properties, DecodeProperties(bytes));
    }

    [Theory]
    [MemberData(nameof(EachProperty))]
    public void Each_zero_or_empty_property_is_present_not_absent(int index, ushort flag)
    {
        var properties = Only(index, Zeroes());
        Assert.False(properties.IsEmpty);
        byte[] bytes = EncodeProperties(properties);
        Assert.Equal(flag, (ushort)((bytes[0] << 8) | bytes[1]));

        var decoded = DecodeProperties(bytes);
        Assert.False(decoded.IsEmpty);
        AssertEquivalent(properties, decoded);
    }

    [Fact]
    public void All_zero_values_round_trip_as_present()
    {
        byte[] bytes = EncodeProperties(Zeroes());
        Assert.Equal(0xFFFC, (bytes[0] << 8) | bytes[1]);
        var decoded = DecodeProperties(bytes);
        Assert.Equal((byte)0, decoded.Priority);
        Assert.Equal(new AmqpTimestamp(0), decoded.Timestamp);
        Assert.Equal("", decoded.ContentType);
        Assert.NotNull(decoded.Headers);
        Assert.Empty(decoded.Headers);
        AssertEquivalent(Zeroes(), decoded);
    }

    [Fact]
    public void Priority_zero_differs_from_absent_on_the_wire()
    {
        Assert.Equal(Hex("0800 00"), EncodeProperties(new BasicProperties { Priority = 0 }));
        Assert.Equal(Hex("0000"), EncodeProperties(new BasicProperties()));
        Assert.Null(DecodeProperties(Hex("0000")).Priority);
        Assert.Equal((byte)0, DecodeProperties(Hex("0800 00")).Priority);
    }

    [Fact]
    public void Null_and_empty_properties_write_zero_flags()
    {
        Assert.Equal(Hex("0000"), EncodeProperties(null));
        Assert.Equal(Hex("0000"), EncodeProperties(BasicProperties.Empty));
        Assert.Equal(Hex("0000"), EncodeProperties(new BasicProperties()));
    }

    [Fact]
    public void No_flags_reads_the_shared_empty_instance() =>
        Assert.Same(BasicProperties.Empty, DecodeProperties(Hex("0000")));

    [Fact]
    public void Null_and_empty_properties_do_not_allocate()
    {
        var buffer = new byte[2];
        byte[] zero = Hex("0000");
        RoundTrip(null, buffer, zero);
        RoundTrip(BasicProperties.Empty, buffer, zero);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            RoundTrip(null, buffer, zero);
            RoundTrip(BasicProperties.Empty, buffer, zero);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());

        static void RoundTrip(BasicProperties? properties, byte[] buffer, byte[] input)
        {
            _ = BasicPropertiesCodec.GetSize(properties);
            var encoder = new AmqpEncoder(buffer);
            BasicPropertiesCodec.Write(ref encoder, properties);
            var decoder = new AmqpDecoder(input);
            _ = BasicPropertiesCodec.Read(ref decoder);
        }
    }

    [Theory]
    [InlineData("0001")]
    [InlineData("9001 0A 746578742F706C61696E 02")]
    public void Continuation_flag_is_a_protocol_error(string hex)
    {
        var ex = Assert.Throws<AmqpProtocolException>(() => DecodeProperties(Hex(hex)));
        Assert.Equal(AmqpReplyCode.SyntaxError, ex.ReplyCode);
    }

    [Fact]
    public void Truncated_property_list_is_a_protocol_error()
    {
        Assert.Throws<AmqpProtocolException>(() => DecodeProperties(Hex("9000 0A 7465")));
        Assert.Throws<AmqpProtocolException>(() => DecodeProperties(Hex("0040 00000000")));
        Assert.Throws<AmqpProtocolException>(() => DecodeProperties(Hex("2000 FFFFFFFF")));
    }

    [Fact]
    public void Short_string_property_over_255_bytes_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => BasicPropertiesCodec.GetSize(new BasicProperties { MessageId = new string('m', 256) }));
        Assert.Contains("MessageId", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2 + 1 + 255, BasicPropertiesCodec.GetSize(new BasicProperties { MessageId = new string('m', 255) }));
    }

    [Fact]
    public void Invalid_header_is_refused_before_writing() =>
        Assert.Throws<ArgumentException>(() => BasicPropertiesCodec.GetSize(new BasicProperties { Headers = new Dictionary<string, object?> { ["x"] = double.NaN } }));

    private static void AssertEquivalent(BasicProperties expected, BasicProperties actual)
    {
        Assert.Equal(expected with { Headers = null }, actual with { Headers = null });
        if (expected.Headers is null)
        {
            Assert.Null(actual.Headers);
            return;
        }

        Assert.NotNull(actual.Headers);
        Assert.Equal(expected.Headers.Count, actual.Headers.Count);
        foreach (var (key, value) in expected.Headers)
        {
            if (value is IDictionary<string, object?> nested)
            {
                Assert.Equal(nested, Assert.IsAssignableFrom<IDictionary<string, object?>>(actual.Headers[key]));
            }
            else
            {
                Assert.Equal(value, actual.Headers[key]);
            }
        }
    }
}
