using System.Text;
using System.Text.Unicode;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// Field tables ('F'), field arrays ('A') and single field values as RabbitMQ speaks them
/// (the AMQP 0-9-1 errata tags, DESIGN.md section 3).
/// </summary>
/// <remarks>
/// <para>CLR type → tag on write: <see cref="bool"/> 't'; <see cref="sbyte"/> 'b'; <see cref="byte"/> 'B';
/// <see cref="short"/> 's'; <see cref="ushort"/> 'u'; <see cref="int"/> 'I'; <see cref="uint"/> 'i';
/// <see cref="long"/> 'l' (never 'L'); <see cref="ulong"/> 'l' when it fits in a long;
/// <see cref="float"/> 'f'; <see cref="double"/> 'd'; <see cref="decimal"/> 'D';
/// <see cref="AmqpTimestamp"/>, <see cref="DateTime"/>, <see cref="DateTimeOffset"/> 'T';
/// <see cref="string"/> 'S'; <c>byte[]</c>, <see cref="ReadOnlyMemory{T}"/>, <see cref="Memory{T}"/> of bytes 'x';
/// <see cref="IDictionary{TKey,TValue}"/> 'F'; <see cref="IList{T}"/> of objects (and <c>object?[]</c>) 'A'; null 'V'.</para>
/// <para>On read, 'S' decodes to a <see cref="string"/> when its bytes are valid UTF-8 and to a <c>byte[]</c>
/// otherwise (some publishers put binary data in long strings); 'x' always decodes to <c>byte[]</c>;
/// 'L' is accepted as an int64 like 'l'; tables decode to <see cref="Dictionary{TKey,TValue}"/> and arrays to
/// <see cref="List{T}"/>, never null even when empty. A key that occurs twice keeps its last value.</para>
/// <para>Decimal ('D'): one scale octet (number of decimal places) then a 32-bit mantissa in two's
/// complement, value = mantissa × 10^-scale. This is the convention of the Java, Go and pika clients;
/// the spec itself does not define the sign. On write, trailing zeros are dropped only as far as needed for the
/// mantissa to fit; a value that still does not fit is an <see cref="ArgumentException"/>; an <see cref="AmqpDecimal"/>
/// is written as it is. On read, a scale up to 28 decodes to <see cref="decimal"/> and a larger one (which
/// <see cref="decimal"/> cannot hold) to <see cref="AmqpDecimal"/>: a valid message never fails to decode.</para>
/// <para>Keys are UTF-8; a key that is not valid UTF-8 decodes with U+FFFD for the bad bytes rather than failing.</para>
/// <para>Timestamps ('T') are whole seconds: <see cref="DateTime"/>/<see cref="DateTimeOffset"/> lose their fraction;
/// a <see cref="DateTime"/> of unspecified kind is taken as UTC; times before 1970 are refused.</para>
/// <para>Nesting is bounded to <see cref="MaxDepth"/> levels both ways (the decoder recurses): a table or array
/// deeper than that decodes to an <see cref="AmqpRawFieldValue"/> that keeps its bytes (and writes back as it
/// is), and a deeper (or cyclic) value to write is an <see cref="ArgumentException"/>.</para>
/// </remarks>
internal static class FieldTableCodec
{
    /// <summary>The deepest nesting of tables and arrays accepted, counting the outermost one as level 1.</summary>
    public const int MaxDepth = 64;

    private const int MaxKeyBytes = 255;

    // ------------------------------------------------------------------ tables

    /// <summary>Encoded size of a table including its 32-bit length; null counts as an empty table (4 bytes).</summary>
    /// <exception cref="ArgumentException">A key or value cannot be encoded.</exception>
    public static int GetSize(IDictionary<string, object?>? table) => GetTableSize(table, depth: 0);

    /// <summary>Writes a table (32-bit length then the entries); null writes an empty table.</summary>
    public static void Write(ref AmqpEncoder encoder, IDictionary<string, object?>? table) => WriteTable(ref encoder, table, depth: 0);

    /// <summary>
    /// Reads a table. <paramref name="depth"/> is the nesting level of this table (0 for a table that is
    /// a method argument or the headers property).
    /// </summary>
    public static Dictionary<string, object?> Read(ref AmqpDecoder decoder, int depth)
    {
        CheckReadDepth(depth);
        var inner = new AmqpDecoder(ReadSized(ref decoder, "field table"));
        var result = new Dictionary<string, object?>();
        while (inner.Remaining > 0)
        {
            string key = ReadKey(ref inner);
            byte tag = inner.ReadOctet();
            result[key] = ReadValueCore(ref inner, tag, key, index: -1, depth);
        }

        return result;
    }

    // ------------------------------------------------------------------ arrays

    /// <summary>Encoded size of an array including its 32-bit length; null counts as an empty array.</summary>
    public static int GetArraySize(IList<object?>? array) => GetArraySize(array, key: "(array)", depth: 0);

    /// <summary>Writes an array (32-bit length then tagged values); null writes an empty array.</summary>
    public static void WriteArray(ref AmqpEncoder encoder, IList<object?>? array) => WriteArray(ref encoder, array, key: "(array)", depth: 0);

    /// <summary>Reads an array; <paramref name="depth"/> as for <see cref="Read"/>.</summary>
    public static List<object?> ReadArray(ref AmqpDecoder decoder, int depth) => ReadArray(ref decoder, key: "(array)", depth);

    // ------------------------------------------------------------------ single values

    /// <summary>Encoded size of one field value including its tag octet.</summary>
    public static int GetValueSize(object? value) => GetValueSize(value, key: "(value)", index: -1, depth: 0);

    /// <summary>Writes one field value: its tag octet then its encoding.</summary>
    public static void WriteValue(ref AmqpEncoder encoder, object? value) => WriteValue(ref encoder, value, key: "(value)", index: -1, depth: 0);

    /// <summary>Reads one field value: a tag octet then its encoding.</summary>
    public static object? ReadValue(ref AmqpDecoder decoder, int depth)
    {
        byte tag = decoder.ReadOctet();
        return ReadValueCore(ref decoder, tag, key: "(value)", index: -1, depth);
    }

    // ------------------------------------------------------------------ size

    private static int GetTableSize(IDictionary<string, object?>? table, int depth)
    {
        CheckWriteDepth(depth, key: null);
        if (table is null || table.Count == 0)
        {
            return 4;
        }

        int size = 4;
        if (table is Dictionary<string, object?> dictionary)
        {
            foreach (KeyValuePair<string, object?> entry in dictionary)
            {
                size = checked(size + GetEntrySize(entry.Key, entry.Value, depth));
            }
        }
        else
        {
            foreach (KeyValuePair<string, object?> entry in table)
            {
                size = checked(size + GetEntrySize(entry.Key, entry.Value, depth));
            }
        }

        return size;
    }

    private static int GetEntrySize(string key, object? value, int depth)
    {
        int keyBytes = Encoding.UTF8.GetByteCount(key ?? string.Empty);
        if (keyBytes > MaxKeyBytes)
        {
            throw new ArgumentException(
                $"The field table key \"{Shorten(key!)}\" is {keyBytes} bytes of UTF-8; AMQP allows at most {MaxKeyBytes}.");
        }

        return checked(1 + keyBytes + GetValueSize(value, key!, index: -1, depth));
    }

    private static int GetArraySize(IList<object?>? array, string key, int depth)
    {
        CheckWriteDepth(depth, key);
        if (array is null || array.Count == 0)
        {
            return 4;
        }

        int size = 4;
        for (int i = 0; i < array.Count; i++)
        {
            size = checked(size + GetValueSize(array[i], key, i, depth));
        }

        return size;
    }

    /// <summary>Size of tag + value; validates the value (NaN, range, type, nesting) on the way.</summary>
    private static int GetValueSize(object? value, string key, int index, int depth) => value switch
    {
        null => 1,
        string s => 1 + 4 + Encoding.UTF8.GetByteCount(s),
        bool => 1 + 1,
        sbyte => 1 + 1,
        byte => 1 + 1,
        short => 1 + 2,
        ushort => 1 + 2,
        int => 1 + 4,
        uint => 1 + 4,
        long => 1 + 8,
        ulong u => CheckUInt64(u, key, index),
        float f => CheckFinite(f, key, index, 1 + 4),
        double d => CheckFinite(d, key, index, 1 + 8),
        decimal m => EncodeDecimal(m, key, index, out _, out _),
        AmqpDecimal => 1 + 1 + 4,
        AmqpRawFieldValue raw => CheckRaw(raw, key, index),
        AmqpTimestamp => 1 + 8,
        DateTime dt => ToTimestampSize(ToUnixSeconds(dt, key, index)),
        DateTimeOffset dto => ToTimestampSize(ToUnixSeconds(dto, key, index)),
        byte[] bytes => 1 + 4 + bytes.Length,
        ReadOnlyMemory<byte> rom => 1 + 4 + rom.Length,
        Memory<byte> mem => 1 + 4 + mem.Length,
        IDictionary<string, object?> table => 1 + GetTableSize(table, depth + 1),
        IList<object?> list => 1 + GetArraySize(list, key, depth + 1),
        _ => throw Unsupported(value, key, index),
    };

    // ------------------------------------------------------------------ write

    private static void WriteTable(ref AmqpEncoder encoder, IDictionary<string, object?>? table, int depth)
    {
        CheckWriteDepth(depth, key: null);
        if (table is null || table.Count == 0)
        {
            encoder.WriteLong(0);
            return;
        }

        int lengthAt = encoder.ReserveLong();
        int start = encoder.Position;
        if (table is Dictionary<string, object?> dictionary)
        {
            foreach (KeyValuePair<string, object?> entry in dictionary)
            {
                WriteEntry(ref encoder, entry.Key, entry.Value, depth);
            }
        }
        else
        {
            foreach (KeyValuePair<string, object?> entry in table)
            {
                WriteEntry(ref encoder, entry.Key, entry.Value, depth);
            }
        }

        encoder.PatchLong(lengthAt, (uint)(encoder.Position - start));
    }

    private static void WriteEntry(ref AmqpEncoder encoder, string key, object? value, int depth)
    {
        encoder.WriteShortString(key);
        WriteValue(ref encoder, value, key, index: -1, depth);
    }

    private static void WriteArray(ref AmqpEncoder encoder, IList<object?>? array, string key, int depth)
    {
        CheckWriteDepth(depth, key);
        if (array is null || array.Count == 0)
        {
            encoder.WriteLong(0);
            return;
        }

        int lengthAt = encoder.ReserveLong();
        int start = encoder.Position;
        for (int i = 0; i < array.Count; i++)
        {
            WriteValue(ref encoder, array[i], key, i, depth);
        }

        encoder.PatchLong(lengthAt, (uint)(encoder.Position - start));
    }

    private static void WriteValue(ref AmqpEncoder encoder, object? value, string key, int index, int depth)
    {
        switch (value)
        {
            case null:
                encoder.WriteOctet((byte)'V');
                break;
            case string s:
                encoder.WriteOctet((byte)'S');
                encoder.WriteLongString(s);
                break;
            case bool b:
                encoder.WriteOctet((byte)'t');
                encoder.WriteOctet(b ? (byte)1 : (byte)0);
                break;
            case sbyte sb:
                encoder.WriteOctet((byte)'b');
                encoder.WriteOctet(unchecked((byte)sb));
                break;
            case byte ub:
                encoder.WriteOctet((byte)'B');
                encoder.WriteOctet(ub);
                break;
            case short i16:
                encoder.WriteOctet((byte)'s');
                encoder.WriteShort(unchecked((ushort)i16));
                break;
            case ushort u16:
                encoder.WriteOctet((byte)'u');
                encoder.WriteShort(u16);
                break;
            case int i32:
                encoder.WriteOctet((byte)'I');
                encoder.WriteLong(unchecked((uint)i32));
                break;
            case uint u32:
                encoder.WriteOctet((byte)'i');
                encoder.WriteLong(u32);
                break;
            case long i64:
                encoder.WriteOctet((byte)'l');
                encoder.WriteLongLong(unchecked((ulong)i64));
                break;
            case ulong u64:
                CheckUInt64(u64, key, index);
                encoder.WriteOctet((byte)'l');
                encoder.WriteLongLong(u64);
                break;
            case float f:
                CheckFinite(f, key, index, 0);
                encoder.WriteOctet((byte)'f');
                encoder.WriteLong(BitConverter.SingleToUInt32Bits(f));
                break;
            case double d:
                CheckFinite(d, key, index, 0);
                encoder.WriteOctet((byte)'d');
                encoder.WriteLongLong(BitConverter.DoubleToUInt64Bits(d));
                break;
            case decimal m:
                EncodeDecimal(m, key, index, out byte scale, out int mantissa);
                encoder.WriteOctet((byte)'D');
                encoder.WriteOctet(scale);
                encoder.WriteLong(unchecked((uint)mantissa));
                break;
            case AmqpDecimal exact:
                encoder.WriteOctet((byte)'D');
                encoder.WriteOctet(exact.Scale);
                encoder.WriteLong(unchecked((uint)exact.Mantissa));
                break;
            case AmqpRawFieldValue raw:
                CheckRaw(raw, key, index);
                encoder.WriteOctet(raw.Tag);
                encoder.WriteLongString(raw.Encoded.Span);
                break;
            case AmqpTimestamp ts:
                encoder.WriteOctet((byte)'T');
                encoder.WriteLongLong(ts.UnixSeconds);
                break;
            case DateTime dt:
                encoder.WriteOctet((byte)'T');
                encoder.WriteLongLong(ToUnixSeconds(dt, key, index));
                break;
            case DateTimeOffset dto:
                encoder.WriteOctet((byte)'T');
                encoder.WriteLongLong(ToUnixSeconds(dto, key, index));
                break;
            case byte[] bytes:
                encoder.WriteOctet((byte)'x');
                encoder.WriteLongString(bytes);
                break;
            case ReadOnlyMemory<byte> rom:
                encoder.WriteOctet((byte)'x');
                encoder.WriteLongString(rom.Span);
                break;
            case Memory<byte> mem:
                encoder.WriteOctet((byte)'x');
                encoder.WriteLongString(mem.Span);
                break;
            case IDictionary<string, object?> table:
                encoder.WriteOctet((byte)'F');
                WriteTable(ref encoder, table, depth + 1);
                break;
            case IList<object?> list:
                encoder.WriteOctet((byte)'A');
                WriteArray(ref encoder, list, key, depth + 1);
                break;
            default:
                throw Unsupported(value, key, index);
        }
    }

    // ------------------------------------------------------------------ read

    private static List<object?> ReadArray(ref AmqpDecoder decoder, string key, int depth)
    {
        CheckReadDepth(depth);
        var inner = new AmqpDecoder(ReadSized(ref decoder, "field array"));
        var result = new List<object?>();
        while (inner.Remaining > 0)
        {
            byte tag = inner.ReadOctet();
            result.Add(ReadValueCore(ref inner, tag, key, result.Count, depth));
        }

        return result;
    }

    /// <summary>Reads the value after its tag. <paramref name="depth"/> is the level of the containing table or array.</summary>
    private static object? ReadValueCore(ref AmqpDecoder decoder, byte tag, string key, int index, int depth)
    {
        switch (tag)
        {
            case (byte)'t':
                return decoder.ReadOctet() != 0;
            case (byte)'b':
                return unchecked((sbyte)decoder.ReadOctet());
            case (byte)'B':
                return decoder.ReadOctet();
            case (byte)'s':
                return unchecked((short)decoder.ReadShort());
            case (byte)'u':
                return decoder.ReadShort();
            case (byte)'I':
                return unchecked((int)decoder.ReadLong());
            case (byte)'i':
                return decoder.ReadLong();
            case (byte)'l':
            case (byte)'L':
                return unchecked((long)decoder.ReadLongLong());
            case (byte)'f':
                return BitConverter.UInt32BitsToSingle(decoder.ReadLong());
            case (byte)'d':
                return BitConverter.UInt64BitsToDouble(decoder.ReadLongLong());
            case (byte)'D':
                return ReadDecimal(ref decoder);
            case (byte)'T':
                return new AmqpTimestamp(decoder.ReadLongLong());
            case (byte)'S':
                {
                    ReadOnlySpan<byte> bytes = decoder.ReadLongStringBytes();
                    if (bytes.IsEmpty)
                    {
                        return string.Empty;
                    }

                    return Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : bytes.ToArray();
                }

            case (byte)'x':
                return decoder.ReadLongStringBytes().ToArray();
            case (byte)'F':
                return depth + 1 >= MaxDepth ? ReadRaw(ref decoder, tag) : Read(ref decoder, depth + 1);
            case (byte)'A':
                return depth + 1 >= MaxDepth ? ReadRaw(ref decoder, tag) : ReadArray(ref decoder, key, depth + 1);
            case (byte)'V':
                return null;
            default:
                throw new AmqpProtocolException(
                    AmqpReplyCode.SyntaxError, $"Unknown field value type {DescribeTag(tag)} for {Describe(key, index)}.");
        }
    }

    // A decimal when it holds the value exactly, else the wire value itself: never a failure.
    private static object ReadDecimal(ref AmqpDecoder decoder)
    {
        var exact = new AmqpDecimal(decoder.ReadOctet(), unchecked((int)decoder.ReadLong()));
        return exact.TryGetDecimal(out decimal value) ? value : exact;
    }

    // Deeper than the decoder recurses: keep the bytes.
    private static AmqpRawFieldValue ReadRaw(ref AmqpDecoder decoder, byte tag) =>
        new(tag, ReadSized(ref decoder, tag == (byte)'F' ? "field table" : "field array").ToArray());

    private static string ReadKey(ref AmqpDecoder decoder)
    {
        ReadOnlySpan<byte> bytes = decoder.ReadShortStringBytes();
        return bytes.IsEmpty ? string.Empty : Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Reads a 32-bit length and returns that many bytes, refusing a length beyond the frame before allocating.</summary>
    private static ReadOnlySpan<byte> ReadSized(ref AmqpDecoder decoder, string what)
    {
        uint length = decoder.ReadLong();
        if (length > (uint)decoder.Remaining)
        {
            throw new AmqpProtocolException(
                AmqpReplyCode.SyntaxError,
                $"A {what} claims {length} bytes but only {decoder.Remaining} remain in the frame payload.");
        }

        return decoder.ReadBytes((int)length);
    }

    // ------------------------------------------------------------------ helpers

    private static void CheckReadDepth(int depth)
    {
        if (depth >= MaxDepth)
        {
            throw new AmqpProtocolException(
                AmqpReplyCode.SyntaxError, $"Field tables and arrays are nested more than {MaxDepth} levels deep.");
        }
    }

    private static void CheckWriteDepth(int depth, string? key)
    {
        if (depth >= MaxDepth)
        {
            throw new ArgumentException(
                $"Field tables and arrays are nested more than {MaxDepth} levels deep{(key is null ? string.Empty : $" (under key \"{Shorten(key)}\")")}, or a table or array contains itself.");
        }
    }

    private static int CheckRaw(AmqpRawFieldValue raw, string key, int index)
    {
        if (raw.Tag is not ((byte)'F' or (byte)'A'))
        {
            throw new ArgumentException($"The raw field value for {Describe(key, index)} has tag {DescribeTag(raw.Tag)}; only 'F' (table) and 'A' (array) are kept raw.");
        }

        return checked(1 + 4 + raw.Encoded.Length);
    }

    private static int CheckUInt64(ulong value, string key, int index)
    {
        if (value > long.MaxValue)
        {
            throw new ArgumentException(
                $"The value {value} for {Describe(key, index)} does not fit in a signed 64-bit integer, the largest integer a field table carries.");
        }

        return 1 + 8;
    }

    private static int CheckFinite(double value, string key, int index, int size)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentException(
                $"The value for {Describe(key, index)} is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}; RabbitMQ closes the connection (541) on a NaN or infinite number in a field table.");
        }

        return size;
    }

    /// <summary>
    /// Converts a .NET decimal to AMQP's scale octet and two's-complement int32 mantissa. Trailing zeros
    /// are dropped only when the mantissa would not fit otherwise (so 1.50m stays scale 2, mantissa 150).
    /// Returns the encoded size (tag + 5).
    /// </summary>
    private static int EncodeDecimal(decimal value, string key, int index, out byte scale, out int mantissa)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        bool negative = bits[3] < 0;
        int s = (bits[3] >> 16) & 0xFF;
        UInt128 magnitude = new((ulong)(uint)bits[2], ((ulong)(uint)bits[1] << 32) | (uint)bits[0]);
        UInt128 limit = negative ? (UInt128)2147483648u : (UInt128)int.MaxValue;
        while (magnitude > limit && s > 0 && magnitude % 10 == 0)
        {
            magnitude /= 10;
            s--;
        }

        if (magnitude > limit)
        {
            throw new ArgumentException(
                $"The decimal {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} for {Describe(key, index)} does not fit an AMQP decimal (a 32-bit mantissa and up to 255 decimal places).");
        }

        scale = (byte)s;
        mantissa = negative ? unchecked((int)(-(long)(ulong)magnitude)) : (int)(ulong)magnitude;
        return 1 + 1 + 4;
    }

    private static ulong ToUnixSeconds(DateTime value, string key, int index)
    {
        // A DateTime of unspecified kind is taken as UTC (the wire is UTC; the machine's time zone should not leak in).
        DateTime utc = value.Kind switch
        {
            DateTimeKind.Local => value.ToUniversalTime(),
            DateTimeKind.Unspecified => DateTime.SpecifyKind(value, DateTimeKind.Utc),
            _ => value,
        };
        return ToUnixSeconds(new DateTimeOffset(utc), key, index);
    }

    private static ulong ToUnixSeconds(DateTimeOffset value, string key, int index)
    {
        long seconds = value.ToUnixTimeSeconds();
        if (seconds < 0)
        {
            throw new ArgumentException(
                $"The time {value:O} for {Describe(key, index)} is before 1970; an AMQP timestamp cannot carry it.");
        }

        return (ulong)seconds;
    }

    private static int ToTimestampSize(ulong seconds)
    {
        _ = seconds;
        return 1 + 8;
    }

    private static ArgumentException Unsupported(object value, string key, int index) =>
        new($"The value for {Describe(key, index)} has type {value.GetType().FullName}, which a field table cannot carry.");

    private static string Describe(string key, int index) =>
        index < 0 ? $"key \"{Shorten(key)}\"" : $"element {index} of the array under key \"{Shorten(key)}\"";

    private static string DescribeTag(byte tag) =>
        tag is >= 0x21 and <= 0x7E ? $"'{(char)tag}' (0x{tag:X2})" : $"0x{tag:X2}";

    private static string Shorten(string value) => value.Length <= 60 ? value : string.Concat(value.AsSpan(0, 60), "…");
}
