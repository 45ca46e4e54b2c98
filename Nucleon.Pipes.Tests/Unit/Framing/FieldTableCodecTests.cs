using System.Text;
using Nucleon.Pipes.Framing;
using static Nucleon.Pipes.Tests.Unit.Framing.CodecTestHelpers;

namespace Nucleon.Pipes.Tests.Unit.Framing;

public class FieldTableCodecTests
{
    // ------------------------------------------------------------- hand-computed bytes

    [Fact]
    public void Table_with_representative_types_matches_hand_computed_bytes()
    {
        var table = new Dictionary<string, object?>
        {
            ["s"] = "hi",
            ["i"] = 1,
            ["t"] = true,
            ["l"] = -2L,
            ["v"] = null,
            ["d"] = 12.34m,
            ["n"] = -12.34m,
            ["T"] = new AmqpTimestamp(1_700_000_000),
        };

        // Body: 9 + 7 + 4 + 11 + 3 + 8 + 8 + 11 = 61 = 0x3D bytes.
        byte[] expected = Hex(
            "0000003D"
            + "01 73 53 00000002 6869"              // "s" -> 'S' "hi"
            + "01 69 49 00000001"                   // "i" -> 'I' 1
            + "01 74 74 01"                         // "t" -> 't' true
            + "01 6C 6C FFFFFFFFFFFFFFFE"           // "l" -> 'l' -2
            + "01 76 56"                            // "v" -> 'V'
            + "01 64 44 02 000004D2"                // "d" -> 'D' scale 2, mantissa 1234
            + "01 6E 44 02 FFFFFB2E"                // "n" -> 'D' scale 2, mantissa -1234 (two's complement)
            + "01 54 54 000000006553F100");         // "T" -> 'T' 1700000000 s

        byte[] actual = EncodeTable(table);

        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(actual));
        var decoded = DecodeTable(expected);
        Assert.Equal(table.Count, decoded.Count);
        foreach (var (key, value) in table)
        {
            Assert.Equal(value, decoded[key]);
        }
    }

    public static TheoryData<object?, string> ValueBytes() => new()
    {
        { true, "74 01" },
        { false, "74 00" },
        { (sbyte)-1, "62 FF" },
        { (byte)200, "42 C8" },
        { (short)-2, "73 FFFE" },
        { (ushort)65535, "75 FFFF" },
        { -1, "49 FFFFFFFF" },
        { 4_000_000_000u, "69 EE6B2800" },
        { long.MinValue, "6C 8000000000000000" },
        { 5UL, "6C 0000000000000005" },
        { 1.5f, "66 3FC00000" },
        { 1.5d, "64 3FF8000000000000" },
        { 0m, "44 00 00000000" },
        { 1.50m, "44 02 00000096" },
        { -1m, "44 00 FFFFFFFF" },
        { "", "53 00000000" },
        { "é", "53 00000002 C3A9" },
        { new byte[] { 1, 2 }, "78 00000002 0102" },
        { new ReadOnlyMemory<byte>([9]), "78 00000001 09" },
        { null, "56" },
        { new AmqpTimestamp(1), "54 0000000000000001" },
        { new DateTimeOffset(1970, 1, 1, 0, 0, 1, 999, TimeSpan.Zero), "54 0000000000000001" },
        { new DateTime(1970, 1, 1, 0, 1, 0, DateTimeKind.Utc), "54 000000000000003C" },
        { new Dictionary<string, object?>(), "46 00000000" },
        { new List<object?>(), "41 00000000" },
        { new object?[] { 1, "a" }, "41 0000000B 49 00000001 53 00000001 61" },
        { new Dictionary<string, object?> { ["k"] = (byte)7 }, "46 00000004 01 6B 42 07" },
    };

    [Theory]
    [MemberData(nameof(ValueBytes))]
    public void Single_values_match_hand_computed_bytes(object? value, string hex) =>
        Assert.Equal(Convert.ToHexString(Hex(hex)), Convert.ToHexString(EncodeValue(value)));

    [Fact]
    public void Null_table_is_written_as_empty_table()
    {
        Assert.Equal(4, FieldTableCodec.GetSize(null));
        Assert.Equal(Hex("00000000"), EncodeTable(null));
    }

    // ------------------------------------------------------------- round trips

    [Fact]
    public void Every_type_round_trips()
    {
        var table = new Dictionary<string, object?>
        {
            ["bool"] = true,
            ["sbyte"] = sbyte.MinValue,
            ["byte"] = byte.MaxValue,
            ["short"] = short.MinValue,
            ["ushort"] = ushort.MaxValue,
            ["int"] = int.MinValue,
            ["uint"] = uint.MaxValue,
            ["long"] = long.MaxValue,
            ["float"] = -0.25f,
            ["double"] = double.Epsilon,
            ["decimal"] = -2147483.648m,
            ["timestamp"] = new AmqpTimestamp(ulong.MaxValue),
            ["string"] = "ünïcødé ✓",
            ["bytes"] = new byte[] { 0, 255, 128 },
            ["void"] = null,
        };

        var decoded = DecodeTable(EncodeTable(table));

        Assert.Equal(table.Count, decoded.Count);
        foreach (var (key, value) in table)
        {
            Assert.True(decoded.ContainsKey(key), key);
            Assert.Equal(value, decoded[key]);
            Assert.Equal(value?.GetType(), decoded[key]?.GetType());
        }
    }

    [Fact]
    public void Types_without_a_wire_twin_decode_to_their_canonical_type()
    {
        var table = new Dictionary<string, object?>
        {
            ["ulong"] = 42UL,
            ["rom"] = new ReadOnlyMemory<byte>([1, 2, 3]),
            ["mem"] = new Memory<byte>([4]),
            ["dt"] = new DateTime(2024, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc),
            ["dto"] = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)),
            ["array"] = new object?[] { 1, null },
            ["strings"] = new[] { "a", "b" },
        };

        var decoded = DecodeTable(EncodeTable(table));

        Assert.Equal(42L, decoded["ulong"]);
        Assert.Equal(new byte[] { 1, 2, 3 }, decoded["rom"]);
        Assert.Equal(new byte[] { 4 }, decoded["mem"]);
        Assert.Equal(AmqpTimestamp.FromDateTimeOffset(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero)), decoded["dt"]);
        Assert.Equal(AmqpTimestamp.FromDateTimeOffset(new DateTimeOffset(2024, 1, 2, 1, 4, 5, TimeSpan.Zero)), decoded["dto"]);
        Assert.Equal(new List<object?> { 1, null }, Assert.IsType<List<object?>>(decoded["array"]));
        Assert.Equal(new List<object?> { "a", "b" }, Assert.IsType<List<object?>>(decoded["strings"]));
    }

    [Fact]
    public void Empty_table_and_empty_array_stay_empty_not_null()
    {
        var table = new Dictionary<string, object?>
        {
            ["table"] = new Dictionary<string, object?>(),
            ["array"] = Array.Empty<object?>(),
        };

        var decoded = DecodeTable(EncodeTable(table));

        Assert.Empty(Assert.IsType<Dictionary<string, object?>>(decoded["table"]));
        Assert.Empty(Assert.IsType<List<object?>>(decoded["array"]));
        Assert.Empty(DecodeTable(Hex("00000000")));
    }

    [Fact]
    public void Nested_tables_and_arrays_round_trip()
    {
        var table = new Dictionary<string, object?>
        {
            ["array-of-tables"] = new List<object?>
            {
                new Dictionary<string, object?> { ["a"] = 1 },
                new Dictionary<string, object?> { ["b"] = "two", ["c"] = null },
                new Dictionary<string, object?>(),
            },
            ["table-in-array-in-table"] = new Dictionary<string, object?>
            {
                ["list"] = new object?[]
                {
                    new Dictionary<string, object?> { ["deep"] = new object?[] { 1L, new object?[] { true } } },
                    "x",
                },
            },
        };

        var decoded = DecodeTable(EncodeTable(table));

        var arrayOfTables = Assert.IsType<List<object?>>(decoded["array-of-tables"]);
        Assert.Equal(3, arrayOfTables.Count);
        Assert.Equal(1, Assert.IsType<Dictionary<string, object?>>(arrayOfTables[0])["a"]);
        var second = Assert.IsType<Dictionary<string, object?>>(arrayOfTables[1]);
        Assert.Equal("two", second["b"]);
        Assert.True(second.ContainsKey("c"));
        Assert.Null(second["c"]);
        Assert.Empty(Assert.IsType<Dictionary<string, object?>>(arrayOfTables[2]));

        var outer = Assert.IsType<Dictionary<string, object?>>(decoded["table-in-array-in-table"]);
        var list = Assert.IsType<List<object?>>(outer["list"]);
        Assert.Equal("x", list[1]);
        var inner = Assert.IsType<Dictionary<string, object?>>(list[0]);
        var deep = Assert.IsType<List<object?>>(inner["deep"]);
        Assert.Equal(1L, deep[0]);
        Assert.Equal(new List<object?> { true }, Assert.IsType<List<object?>>(deep[1]));
    }

    [Fact]
    public void Array_codec_round_trips_on_its_own()
    {
        IList<object?> array = new object?[] { (short)3, "s", new Dictionary<string, object?> { ["k"] = 1.25d } };
        int size = FieldTableCodec.GetArraySize(array);
        var buffer = new byte[size];
        var encoder = new AmqpEncoder(buffer);
        FieldTableCodec.WriteArray(ref encoder, array);
        Assert.Equal(size, encoder.Position);

        var decoder = new AmqpDecoder(buffer);
        var decoded = FieldTableCodec.ReadArray(ref decoder, depth: 0);

        Assert.Equal(3, decoded.Count);
        Assert.Equal((short)3, decoded[0]);
        Assert.Equal("s", decoded[1]);
        Assert.Equal(1.25d, Assert.IsType<Dictionary<string, object?>>(decoded[2])["k"]);
    }

    [Fact]
    public void Non_dictionary_IDictionary_implementations_are_written()
    {
        IDictionary<string, object?> table = new SortedDictionary<string, object?> { ["b"] = 2, ["a"] = 1 };
        Assert.Equal(Hex("0000000E 01 61 49 00000001 01 62 49 00000002"), EncodeTable(table));
    }

    // ------------------------------------------------------------- decimals

    [Fact]
    public void Decimal_trailing_zeros_are_kept_when_the_mantissa_fits() =>
        Assert.Equal(Hex("44 03 000004D2"), EncodeValue(1.234m));

    [Fact]
    public void Decimal_trailing_zeros_are_dropped_only_to_fit()
    {
        // 1.0000000000 has mantissa 10^10 (beyond int32) and scale 10; one zero is dropped: mantissa 10^9, scale 9.
        Assert.Equal(Hex("44 09 3B9ACA00"), EncodeValue(1.0000000000m));
        // 2147483648.0 has mantissa 21474836480 -> 2147483648 does not fit a positive int32.
        Assert.Throws<ArgumentException>(() => EncodeValue(2147483648.0m));
        // but -2147483648 fits two's complement.
        Assert.Equal(Hex("44 00 80000000"), EncodeValue(-2147483648.0m));
    }

    [Fact]
    public void Decimal_int32_min_mantissa_decodes() =>
        Assert.Equal(-21474836.48m, DecodeValue(Hex("44 02 80000000")));

    [Fact]
    public void Decimal_that_does_not_fit_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(new Dictionary<string, object?> { ["big"] = 12345678901m }));
        Assert.Contains("big", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => EncodeValue(decimal.MaxValue));
        Assert.Throws<ArgumentException>(() => EncodeValue(0.0000000000000000000000000001m * 3_000_000_001m));
    }

    [Fact]
    public void Decimal_scale_beyond_28_decodes_to_the_exact_wire_value_and_writes_back_unchanged()
    {
        var wire = Hex("44 FF 80000000"); // scale 255, mantissa int.MinValue
        var exact = Assert.IsType<AmqpDecimal>(DecodeValue(wire));
        Assert.Equal(new AmqpDecimal(255, int.MinValue), exact);
        Assert.False(exact.TryGetDecimal(out _));
        Assert.Equal(wire, EncodeValue(exact));
        Assert.Equal("0.000000000000000000000000000015", new AmqpDecimal(30, 15).ToString());
        Assert.Equal("-12.5", new AmqpDecimal(1, -125).ToString());
        Assert.Equal(1.5e-29, new AmqpDecimal(30, 15).ToDouble(), 1e-40);
    }

    [Fact]
    public void Decimal_scale_up_to_28_still_decodes_to_decimal()
    {
        Assert.Equal(0.0000000000000000000000000001m, Assert.IsType<decimal>(DecodeValue(Hex("44 1C 00000001"))));
        Assert.True(new AmqpDecimal(28, -1).TryGetDecimal(out var m));
        Assert.Equal(-0.0000000000000000000000000001m, m);
    }

    // ------------------------------------------------------------- lenient reading

    [Fact]
    public void Capital_L_is_read_as_int64() =>
        Assert.Equal(-1L, DecodeValue(Hex("4C FFFFFFFFFFFFFFFF")));

    [Fact]
    public void Long_string_that_is_not_UTF8_decodes_as_bytes()
    {
        Assert.Equal(new byte[] { 0xFF, 0xFE }, Assert.IsType<byte[]>(DecodeValue(Hex("53 00000002 FFFE"))));
        Assert.Equal("hi", DecodeValue(Hex("53 00000002 6869")));
        Assert.Equal(string.Empty, DecodeValue(Hex("53 00000000")));
    }

    [Fact]
    public void Byte_array_tag_always_decodes_as_bytes() =>
        Assert.Equal(new byte[] { 0x68, 0x69 }, Assert.IsType<byte[]>(DecodeValue(Hex("78 00000002 6869"))));

    [Fact]
    public void Duplicate_key_keeps_the_last_value() =>
        Assert.Equal(2, DecodeTable(Hex("0000000E 01 61 49 00000001 01 61 49 00000002"))["a"]);

    // ------------------------------------------------------------- hostile input

    [Fact]
    public void Truncated_table_is_a_protocol_error()
    {
        // Declares 5 bytes and has them, but the 'I' value inside needs 4 and only 2 remain.
        var ex = Assert.Throws<AmqpProtocolException>(() => DecodeTable(Hex("00000005 01 61 49 0000")));
        Assert.Equal(AmqpReplyCode.SyntaxError, ex.ReplyCode);
        Assert.Throws<AmqpProtocolException>(() => DecodeTable(Hex("000000")));
        Assert.Throws<AmqpProtocolException>(() => DecodeTable(Hex("00000003 01 61")));
    }

    [Theory]
    [InlineData("00000005 01 61 49 00")]
    [InlineData("FFFFFFFF 01 61 49 00000001")]
    [InlineData("7FFFFFFF")]
    public void Table_length_beyond_the_frame_is_a_protocol_error(string hex)
    {
        var ex = Assert.Throws<AmqpProtocolException>(() => DecodeTable(Hex(hex)));
        Assert.Equal(AmqpReplyCode.SyntaxError, ex.ReplyCode);
    }

    [Fact]
    public void Array_length_beyond_the_frame_is_a_protocol_error() =>
        Assert.Throws<AmqpProtocolException>(() => DecodeValue(Hex("41 FFFFFFF0 49")));

    [Fact]
    public void Unknown_tag_is_a_protocol_error_naming_tag_and_key()
    {
        var ex = Assert.Throws<AmqpProtocolException>(() => DecodeTable(Hex("00000004 01 61 5A 00")));
        Assert.Equal(AmqpReplyCode.SyntaxError, ex.ReplyCode);
        Assert.Contains("'Z'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"a\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_tag_in_array_is_a_protocol_error() =>
        Assert.Throws<AmqpProtocolException>(() => DecodeValue(Hex("41 00000002 01 00")));

    [Fact]
    public void Invalid_UTF8_key_decodes_with_replacement_characters() =>
        Assert.Equal("\uFFFD", Assert.Single(DecodeTable(Hex("00000003 01 FF 56"))).Key);

    [Fact]
    public void Ten_thousand_nested_tables_decode_without_a_stack_overflow_and_keep_the_deep_part_as_bytes()
    {
        var wire = NestedTables(10_000);
        var decoded = DecodeTable(wire);
        object? level = decoded;
        int depth = 0;
        while (level is Dictionary<string, object?> table)
        {
            level = table["a"];
            depth++;
        }

        Assert.Equal(FieldTableCodec.MaxDepth, depth);
        Assert.Equal((byte)'F', Assert.IsType<AmqpRawFieldValue>(level).Tag);
        Assert.Equal(wire, EncodeTable(decoded)); // written back as it came
    }

    [Fact]
    public void Ten_thousand_nested_arrays_decode_without_a_stack_overflow()
    {
        var wire = NestedArrays(10_000);
        Assert.IsType<List<object?>>(DecodeValue(wire));
    }

    [Fact]
    public void Nesting_up_to_the_limit_decodes_fully_and_one_level_more_keeps_that_level_raw()
    {
        // levels = tables in the chain, the outermost included.
        var decoded = DecodeTable(NestedTables(FieldTableCodec.MaxDepth));
        Assert.Single(decoded);
        var deeper = DecodeTable(NestedTables(FieldTableCodec.MaxDepth + 1));
        object? level = deeper;
        for (int i = 0; i < FieldTableCodec.MaxDepth; i++)
        {
            level = ((Dictionary<string, object?>)level!)["a"];
        }

        var raw = Assert.IsType<AmqpRawFieldValue>(level);
        Assert.Equal(0, raw.Encoded.Length); // the innermost, empty table
    }

    [Fact]
    public void A_raw_value_other_than_a_table_or_array_is_refused_on_write() =>
        Assert.Throws<ArgumentException>(() => EncodeValue(new AmqpRawFieldValue((byte)'S', new byte[] { 1 })));

    [Fact]
    public void Writing_deeper_than_the_limit_is_refused()
    {
        var ok = new Dictionary<string, object?>();
        for (int i = 1; i < FieldTableCodec.MaxDepth; i++)
        {
            ok = new Dictionary<string, object?> { ["a"] = ok };
        }

        // 64 levels, the innermost is empty.
        Assert.Equal(NestedTables(FieldTableCodec.MaxDepth), EncodeTable(ok));

        // 65 levels, even with an empty innermost table, would be refused by a reader: refuse to write it.
        var tooDeep = new Dictionary<string, object?> { ["a"] = ok };
        Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(tooDeep));
        Assert.Throws<ArgumentException>(() => Write(tooDeep, 1024));
        Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(new Dictionary<string, object?> { ["a"] = NestedLists(FieldTableCodec.MaxDepth) }));
        Assert.Equal(4 + ((FieldTableCodec.MaxDepth - 1) * 5), FieldTableCodec.GetArraySize(NestedLists(FieldTableCodec.MaxDepth)));
    }

    [Fact]
    public void Cyclic_table_or_array_is_refused()
    {
        var table = new Dictionary<string, object?>();
        table["self"] = table;
        Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(table));
        Assert.Throws<ArgumentException>(() => Write(table, 1024));

        var list = new List<object?> { 1 };
        list.Add(list);
        Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(new Dictionary<string, object?> { ["list"] = list }));
    }

    // ------------------------------------------------------------- refused values

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Non_finite_double_is_refused(double value)
    {
        var table = new Dictionary<string, object?> { ["x-rate"] = value };
        var ex = Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(table));
        Assert.Contains("x-rate", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Write(table, 64));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Non_finite_float_is_refused(float value)
    {
        Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(new Dictionary<string, object?> { ["f"] = value }));
        Assert.Throws<ArgumentException>(() => EncodeValue(new object?[] { value }));
    }

    [Fact]
    public void Key_longer_than_255_bytes_is_refused()
    {
        Assert.Equal(4 + 1 + 255 + 1, FieldTableCodec.GetSize(new Dictionary<string, object?> { [new string('k', 255)] = null }));
        Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(new Dictionary<string, object?> { [new string('k', 256)] = null }));
        // 128 two-byte characters: 128 chars but 256 bytes.
        Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(new Dictionary<string, object?> { [new string('é', 128)] = null }));
        Assert.Throws<ArgumentException>(() => Write(new Dictionary<string, object?> { [new string('k', 256)] = null }, 1024));
    }

    [Fact]
    public void Unsupported_type_is_refused_naming_key_and_type()
    {
        var ex = Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(new Dictionary<string, object?> { ["id"] = Guid.Empty }));
        Assert.Contains("\"id\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("System.Guid", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Write(new Dictionary<string, object?> { ["c"] = 'c' }, 64));
        Assert.Throws<ArgumentException>(() => FieldTableCodec.GetSize(new Dictionary<string, object?> { ["l"] = new List<int> { 1 } }));
    }

    [Fact]
    public void Ulong_beyond_long_is_refused()
    {
        Assert.Throws<ArgumentException>(() => EncodeValue(ulong.MaxValue));
        Assert.Throws<ArgumentException>(() => Write(new Dictionary<string, object?> { ["u"] = (ulong)long.MaxValue + 1 }, 64));
        Assert.Equal(Hex("6C 7FFFFFFFFFFFFFFF"), EncodeValue((ulong)long.MaxValue));
    }

    [Fact]
    public void Time_before_1970_is_refused() =>
        Assert.Throws<ArgumentException>(() => EncodeValue(new DateTime(1969, 12, 31, 23, 59, 59, DateTimeKind.Utc)));

    // ------------------------------------------------------------- helpers

    private static void Write(IDictionary<string, object?> table, int bufferSize)
    {
        var encoder = new AmqpEncoder(new byte[bufferSize]);
        FieldTableCodec.Write(ref encoder, table);
    }

    /// <summary>A chain of <paramref name="levels"/> tables, each holding "a" -> the next; the innermost is empty.</summary>
    private static byte[] NestedTables(int levels)
    {
        var bytes = new List<byte>(levels * 7 + 4);
        for (int i = 0; i < levels - 1; i++)
        {
            // This table's body: key "a" (2) + tag (1) + the next table (4 + 7 * remaining levels below it).
            AppendUInt32(bytes, (uint)(7 * (levels - 1 - i)));
            bytes.AddRange([0x01, (byte)'a', (byte)'F']);
        }

        AppendUInt32(bytes, 0);
        return [.. bytes];
    }

    /// <summary>An 'A' value: <paramref name="levels"/> arrays, each holding only the next.</summary>
    private static byte[] NestedArrays(int levels)
    {
        var bytes = new List<byte>(levels * 5 + 1) { (byte)'A' };
        for (int i = 0; i < levels - 1; i++)
        {
            AppendUInt32(bytes, (uint)(5 * (levels - 1 - i)));
            bytes.Add((byte)'A');
        }

        AppendUInt32(bytes, 0);
        return [.. bytes];
    }

    private static List<object?> NestedLists(int levels)
    {
        var list = new List<object?>();
        for (int i = 1; i < levels; i++)
        {
            list = [list];
        }

        return list;
    }

    private static void AppendUInt32(List<byte> bytes, uint value)
    {
        bytes.Add((byte)(value >> 24));
        bytes.Add((byte)(value >> 16));
        bytes.Add((byte)(value >> 8));
        bytes.Add((byte)value);
    }
}
