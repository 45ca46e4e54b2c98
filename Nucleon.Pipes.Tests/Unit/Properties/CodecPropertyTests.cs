using System.Buffers;
using CsCheck;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Fuzzing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Tests.Unit.Properties;

/// <summary>
/// Property-based tests (CsCheck): generated field tables, basic properties and methods round-trip
/// exactly; generated mutations of valid frames decode or fail with <see cref="AmqpProtocolException"/>, never
/// anything else. Iteration counts keep the whole class well under 20 s.
/// </summary>
public sealed class CodecPropertyTests
{
    private const int RoundTripIterations = 2_000;
    private const int MutationIterations = 20_000;

    // ------------------------------------------------------------------ generators

    /// <summary>Strings of valid UTF-8 scalars from every encoding length (1 to 4 bytes), no lone surrogates.</summary>
    private static Gen<string> Text(int maxRunes) =>
        Gen.OneOf<int>(Gen.Int[0x20, 0x7E], Gen.Int[0x00, 0x1F], Gen.Int[0xA0, 0x7FF], Gen.Int[0x800, 0xD7FF], Gen.Int[0xE000, 0xFFFD], Gen.Int[0x10000, 0x10FFFF])
            .Array[0, maxRunes]
            .Select(runes => string.Concat(runes.Select(char.ConvertFromUtf32)));

    /// <summary>A short string: at most 63 runes, so at most 252 bytes of UTF-8.</summary>
    private static readonly Gen<string> ShortText = Text(63);

    private static readonly Gen<decimal> AmqpDecimal =
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Bool, Gen.Byte[0, 28], (m, negative, scale) => new decimal(m, 0, 0, negative && m != 0, scale));

    /// <summary>Field values of every type that decodes to the same CLR type it was written from.</summary>
    private static Gen<object?> Value(int depth)
    {
        var scalars = new IGen<object?>[]
        {
            Gen.Const(() => default(object?)),
            Gen.Bool.Select(v => (object?)v),
            Gen.SByte.Select(v => (object?)v),
            Gen.Byte.Select(v => (object?)v),
            Gen.Short.Select(v => (object?)v),
            Gen.UShort.Select(v => (object?)v),
            Gen.Int.Select(v => (object?)v),
            Gen.UInt.Select(v => (object?)v),
            Gen.Long.Select(v => (object?)v),
            Gen.Float.Where(float.IsFinite).Select(v => (object?)v),
            Gen.Double.Where(double.IsFinite).Select(v => (object?)v),
            AmqpDecimal.Select(v => (object?)v),
            Gen.ULong.Select(v => (object?)new AmqpTimestamp(v)),
            Text(20).Select(v => (object?)v),
            Gen.Byte.Array[0, 16].Select(v => (object?)v),
        };
        if (depth == 0)
        {
            return Gen.OneOf<object?>(scalars);
        }

        var nested = Value(depth - 1);
        return Gen.OneOf<object?>(
        [
            .. scalars,
            Table(nested).Select(v => (object?)v),
            nested.Array[0, 4].Select(v => (object?)new List<object?>(v)),
        ]);
    }

    private static Gen<Dictionary<string, object?>> Table(Gen<object?> values) =>
        Gen.Select(ShortText, values).Array[0, 5].Select(entries =>
        {
            var table = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var (key, value) in entries)
            {
                table[key] = value;
            }

            return table;
        });

    private static readonly Gen<Dictionary<string, object?>> Tables = Table(Value(3));

    private static readonly Gen<string?> OptionalShort = Gen.OneOf<string?>(Gen.Const(() => default(string?)), ShortText.Select(s => (string?)s), ShortText.Select(s => (string?)s));

    private static readonly Gen<BasicProperties> Properties =
        Gen.Select(
            Gen.Select(OptionalShort, OptionalShort, Gen.OneOf<Dictionary<string, object?>?>(Gen.Const(() => default(Dictionary<string, object?>?)), Tables.Select(t => (Dictionary<string, object?>?)t))),
            Gen.Select(Gen.Byte.Select(b => (DeliveryMode?)b), Gen.Byte.Select(b => (byte?)b), Gen.Bool, Gen.Bool),
            Gen.Select(OptionalShort, OptionalShort, OptionalShort, OptionalShort),
            Gen.Select(Gen.OneOf<AmqpTimestamp?>(Gen.Const(() => default(AmqpTimestamp?)), Gen.ULong.Select(v => (AmqpTimestamp?)new AmqpTimestamp(v))), OptionalShort, OptionalShort, OptionalShort, OptionalShort),
            (a, b, c, d) => new BasicProperties
            {
                ContentType = a.Item1,
                ContentEncoding = a.Item2,
                Headers = a.Item3,
                DeliveryMode = b.Item3 ? b.Item1 : null,
                Priority = b.Item4 ? b.Item2 : null,
                CorrelationId = c.Item1,
                ReplyTo = c.Item2,
                Expiration = c.Item3,
                MessageId = c.Item4,
                Timestamp = d.Item1,
                Type = d.Item2,
                UserId = d.Item3,
                AppId = d.Item4,
                ClusterId = d.Item5,
            });

    // ------------------------------------------------------------------ round trips

    [Fact]
    public void Field_tables_round_trip_exactly() =>
        Tables.Sample(table =>
        {
            byte[] encoded = Encode(table);
            var decoder = new AmqpDecoder(encoded);
            var decoded = FieldTableCodec.Read(ref decoder, depth: 0);
            Assert.Equal(0, decoder.Remaining);
            AssertDeepEqual(table, decoded);
            Assert.Equal(encoded, Encode(decoded));
        }, iter: RoundTripIterations);

    [Fact]
    public void Basic_properties_round_trip_exactly() =>
        Properties.Sample(properties =>
        {
            int size = BasicPropertiesCodec.GetSize(properties);
            byte[] encoded = new byte[size];
            var encoder = new AmqpEncoder(encoded);
            BasicPropertiesCodec.Write(ref encoder, properties);
            Assert.Equal(size, encoder.Position);

            var decoder = new AmqpDecoder(encoded);
            var decoded = BasicPropertiesCodec.Read(ref decoder);
            Assert.Equal(0, decoder.Remaining);
            AssertDeepEqual(properties.Headers, decoded.Headers);
            Assert.Equal(properties with { Headers = null }, decoded with { Headers = null });
        }, iter: RoundTripIterations);

    [Fact]
    public void Methods_round_trip_exactly()
    {
        var ulongs = Gen.ULong;
        Gen.Select(ShortText, ShortText, ShortText, ulongs, Gen.Bool).Sample(t =>
        {
            var (a, b, c, tag, flag) = t;
            AssertRoundTrip(new BasicPublish(a, b, flag, !flag));
            AssertRoundTrip(new BasicDeliver(a, tag, flag, b, c));
            AssertRoundTrip(new BasicGetOk(tag, flag, a, b, (uint)tag));
            AssertRoundTrip(new BasicReturn((ushort)tag, a, b, c));
            AssertRoundTrip(new BasicAck(tag, flag));
            AssertRoundTrip(new BasicNack(tag, flag, !flag));
            AssertRoundTrip(new BasicReject(tag, flag));
            AssertRoundTrip(new BasicQos((uint)tag, (ushort)(tag >> 32), flag));
            AssertRoundTrip(new BasicCancel(a, flag));
            AssertRoundTrip(new QueueDeclareOk(a, (uint)tag, (uint)(tag >> 32)));
            AssertRoundTrip(new QueueDelete(a, flag, !flag, flag));
            AssertRoundTrip(new ChannelClose((ushort)tag, a, (ushort)(tag >> 16), (ushort)(tag >> 32)));
            AssertRoundTrip(new ConnectionClose((ushort)tag, b, (ushort)(tag >> 16), (ushort)(tag >> 32)));
            AssertRoundTrip(new ConnectionTune((ushort)tag, (uint)(tag >> 16), (ushort)(tag >> 48)));
            AssertRoundTrip(new ConnectionOpen(c));
            AssertRoundTrip(new ConnectionBlocked(b));
        }, iter: RoundTripIterations);

        Gen.Select(ShortText, ShortText, Tables, Gen.Bool).Sample(t =>
        {
            var (a, b, table, flag) = t;
            AssertRoundTripWithTable(new QueueDeclare(a, flag, !flag, flag, !flag, false, table), m => m.Arguments, m => m with { Arguments = null });
            AssertRoundTripWithTable(new ExchangeDeclare(a, b.Length == 0 ? "direct" : b, flag, !flag, flag, !flag, false, table), m => m.Arguments, m => m with { Arguments = null });
            AssertRoundTripWithTable(new QueueBind(a, b, a, flag, table), m => m.Arguments, m => m with { Arguments = null });
            AssertRoundTripWithTable(new ExchangeBind(a, b, b, flag, table), m => m.Arguments, m => m with { Arguments = null });
            AssertRoundTripWithTable(new BasicConsume(a, b, flag, !flag, flag, !flag, table), m => m.Arguments, m => m with { Arguments = null });
            AssertRoundTripWithTable(new ConnectionStart(0, 9, table, a, b), m => m.ServerProperties, m => m with { ServerProperties = null });
        }, iter: RoundTripIterations / 2);
    }

    // ------------------------------------------------------------------ mutations

    private enum Mutation
    {
        Flip,
        Insert,
        Delete,
        Truncate,
        Overwrite,
    }

    private static readonly Gen<(Mutation Kind, int Position, byte Value, int Count)> Mutations =
        Gen.Select(Gen.Enum<Mutation>(), Gen.Int[0, int.MaxValue], Gen.Byte, Gen.Int[1, 8]);

    private static byte[] Mutate(byte[] input, IReadOnlyList<(Mutation Kind, int Position, byte Value, int Count)> mutations)
    {
        var bytes = new List<byte>(input);
        foreach (var (kind, position, value, count) in mutations)
        {
            int at = bytes.Count == 0 ? 0 : position % bytes.Count;
            switch (kind)
            {
                case Mutation.Flip when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << (value % 8));
                    break;
                case Mutation.Insert:
                    bytes.InsertRange(at, Enumerable.Repeat(value, count));
                    break;
                case Mutation.Delete when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(count, bytes.Count - at));
                    break;
                case Mutation.Truncate:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case Mutation.Overwrite when bytes.Count > 0:
                    // Interesting values for length fields: 0x00, 0x7F, 0x80, 0xFF.
                    bytes[at] = (byte)(value % 4 switch { 0 => 0x00, 1 => 0x7F, 2 => 0x80, _ => 0xFF });
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>Valid frames of every kind the client decodes, as seeds for mutation.</summary>
    internal static byte[][] SeedFrames()
    {
        var headers = new Dictionary<string, object?>
        {
            ["s"] = "text",
            ["i"] = 42,
            ["l"] = -7L,
            ["d"] = 1.5m,
            ["t"] = new AmqpTimestamp(1_700_000_000),
            ["x"] = new byte[] { 1, 2, 3 },
            ["a"] = new List<object?> { 1, "two", null, new Dictionary<string, object?> { ["n"] = true } },
            ["f"] = new Dictionary<string, object?> { ["inner"] = 2.5, ["b"] = (byte)1 },
        };
        var properties = new BasicProperties
        {
            ContentType = "application/json",
            Headers = headers,
            DeliveryMode = DeliveryMode.Persistent,
            Priority = 3,
            CorrelationId = "c-1",
            Timestamp = new AmqpTimestamp(1),
            MessageId = "m",
            AppId = "app",
        };
        byte[] header = new byte[FrameWriter.ContentHeaderFrameSize(properties)];
        FrameWriter.WriteContentHeaderFrame(header, 1, 5, properties);
        byte[] body = new byte[FrameWriter.BodyFramesSize(5, 131_072)];
        FrameWriter.WriteBodyFrames(body, 1, "hello"u8, 131_072);
        return
        [
            MethodBytes(new ConnectionStart(0, 9, headers, "PLAIN AMQPLAIN", "en_US")),
            MethodBytes(new ConnectionTune(2047, 131_072, 60)),
            MethodBytes(new ConnectionClose(320, "CONNECTION_FORCED", 0, 0)),
            MethodBytes(new BasicDeliver("ctag", 1, false, "ex", "rk")),
            MethodBytes(new BasicGetOk(9, true, "ex", "rk", 3)),
            MethodBytes(new BasicReturn(312, "NO_ROUTE", "ex", "rk")),
            MethodBytes(new BasicAck(5, true)),
            MethodBytes(new ChannelClose(404, "NOT_FOUND", 50, 10)),
            MethodBytes(new QueueDeclareOk("q", 1, 2)),
            MethodBytes(new BasicConsume("q", "t", false, false, false, false, headers)),
            header,
            body,
            [.. MethodBytes(new BasicDeliver("ctag", 2, true, "", "q")), .. header, .. body],
        ];
    }

    [Fact]
    public void Mutated_frames_decode_or_fail_with_a_protocol_exception_only()
    {
        byte[][] seeds = SeedFrames();
        Gen.Select(Gen.Int[0, seeds.Length - 1], Mutations.Array[1, 4]).Sample(t =>
        {
            byte[] input = Mutate(seeds[t.Item1], t.Item2);
            AssertOnlyProtocolErrors(input, static b => FrameDecodeTarget.DecodeFrames(b));
        }, iter: MutationIterations);
    }

    [Fact]
    public void Mutated_method_payloads_tables_and_properties_decode_or_fail_with_a_protocol_exception_only()
    {
        // Payloads without frame headers, so that mutations reach the argument decoders instead of the frame checks.
        byte[][] payloads = [.. SeedFrames().Select(f => f[AmqpConstants.FrameHeaderSize..^1])];
        byte[] table = Encode(MethodFrame.Decode<ConnectionStart>(payloads[0]).ServerProperties!);
        byte[] properties = payloads[10][12..];
        Gen.Select(Gen.Int[0, payloads.Length + 1], Mutations.Array[1, 4]).Sample(t =>
        {
            byte[] seed = t.Item1 < payloads.Length ? payloads[t.Item1] : t.Item1 == payloads.Length ? table : properties;
            byte[] input = Mutate(seed, t.Item2);
            AssertOnlyProtocolErrors(input, static b => FrameDecodeTarget.DecodeMethod(b));
            AssertOnlyProtocolErrors(input, static b => FrameDecodeTarget.DecodeTable(b));
            AssertOnlyProtocolErrors(input, static b => FrameDecodeTarget.DecodeProperties(b));
            AssertOnlyProtocolErrors(input, static b => ContentHeader.Read(b));
        }, iter: MutationIterations);
    }

    [Fact]
    public void Random_bytes_decode_or_fail_with_a_protocol_exception_only() =>
        Gen.Byte.Array[0, 64].Sample(bytes => FrameDecodeTarget.DecodeAll(bytes), iter: MutationIterations);

    [Fact]
    public void Frames_split_across_segments_decode_like_contiguous_frames() =>
        Gen.Int[1, 64].Sample(segmentSize =>
        {
            foreach (byte[] frame in SeedFrames())
            {
                var contiguous = new ReadOnlySequence<byte>(frame);
                var segmented = Protocol.CodecTestHelpers.Segmented(frame, segmentSize);
                while (FrameReader.TryReadFrame(ref contiguous, FrameDecodeTarget.FrameMax, out var a))
                {
                    Assert.True(FrameReader.TryReadFrame(ref segmented, FrameDecodeTarget.FrameMax, out var b));
                    Assert.Equal(a.Type, b.Type);
                    Assert.Equal(a.Channel, b.Channel);
                    Assert.Equal(a.Payload.ToArray(), b.Payload.ToArray());
                }

                Assert.True(segmented.IsEmpty);
            }
        }, iter: 200);

    // ------------------------------------------------------------------ helpers

    private delegate void SpanAction(ReadOnlySpan<byte> bytes);

    private static void AssertOnlyProtocolErrors(byte[] input, SpanAction decode)
    {
        try
        {
            decode(input);
        }
        catch (AmqpProtocolException ex)
        {
            Assert.InRange(ex.ReplyCode, (ushort)500, (ushort)599);
        }
        catch (Exception ex)
        {
            Assert.Fail($"Input {Convert.ToHexString(input)} raised {ex}");
        }
    }

    private static byte[] Encode(IDictionary<string, object?> table)
    {
        int size = FieldTableCodec.GetSize(table);
        byte[] encoded = new byte[size];
        var encoder = new AmqpEncoder(encoded);
        FieldTableCodec.Write(ref encoder, table);
        Assert.Equal(size, encoder.Position);
        return encoded;
    }

    private static byte[] MethodBytes<T>(T method) where T : struct, IAmqpMethod<T>
    {
        byte[] buffer = new byte[FrameWriter.MethodFrameSize(method)];
        FrameWriter.WriteMethodFrame(buffer, 1, method);
        return buffer;
    }

    private static T RoundTrip<T>(T method) where T : struct, IAmqpMethod<T>
    {
        byte[] frame = MethodBytes(method);
        var buffer = new ReadOnlySequence<byte>(frame);
        Assert.True(FrameReader.TryReadFrame(ref buffer, FrameDecodeTarget.FrameMax, out var raw));
        Assert.True(buffer.IsEmpty);
        var decoded = MethodFrame.Decode<T>(raw.Payload);
        Assert.Equal(frame, MethodBytes(decoded));
        return decoded;
    }

    private static void AssertRoundTrip<T>(T method) where T : struct, IAmqpMethod<T> => Assert.Equal(method, RoundTrip(method));

    private static void AssertRoundTripWithTable<T>(T method, Func<T, IDictionary<string, object?>?> table, Func<T, T> withoutTable)
        where T : struct, IAmqpMethod<T>
    {
        var decoded = RoundTrip(method);
        AssertDeepEqual(table(method), table(decoded));
        Assert.Equal(withoutTable(method), withoutTable(decoded));
    }

    private static void AssertDeepEqual(object? expected, object? actual)
    {
        Assert.True(DeepEquals(expected, actual), $"Expected {Show(expected)} but decoded {Show(actual)}");
    }

    private static bool DeepEquals(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (IDictionary<string, object?> x, IDictionary<string, object?> y) =>
            x.Count == y.Count && x.All(e => y.TryGetValue(e.Key, out var v) && DeepEquals(e.Value, v)),
        (IList<object?> x, IList<object?> y) => x.Count == y.Count && x.Zip(y).All(p => DeepEquals(p.First, p.Second)),
        (byte[] x, byte[] y) => x.AsSpan().SequenceEqual(y),
        (float x, float y) => BitConverter.SingleToUInt32Bits(x) == BitConverter.SingleToUInt32Bits(y),
        (double x, double y) => BitConverter.DoubleToUInt64Bits(x) == BitConverter.DoubleToUInt64Bits(y),
        (decimal x, decimal y) => x == y && decimal.GetBits(x)[3] == decimal.GetBits(y)[3],
        ({ } x, { } y) => x.GetType() == y.GetType() && x.Equals(y),
        _ => false,
    };

    private static string Show(object? value) => value switch
    {
        null => "null",
        IDictionary<string, object?> d => "{" + string.Join(", ", d.Select(e => $"{e.Key}: {Show(e.Value)}")) + "}",
        IList<object?> l => "[" + string.Join(", ", l.Select(Show)) + "]",
        byte[] bytes => "0x" + Convert.ToHexString(bytes),
        _ => $"{value} ({value.GetType().Name})",
    };

}
