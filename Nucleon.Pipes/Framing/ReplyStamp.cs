using System.Buffers.Text;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// The reply-to and correlation-id an RPC request carries in place of its own properties' (see
/// <see cref="BasicPropertiesCodec"/>). The correlation id <c>{index}.{version}</c> (both lower-case hex) is
/// formatted straight into the frame, so a request allocates no string and no copy of its properties.
/// The default value stamps nothing.
/// </summary>
internal readonly struct ReplyStamp(string replyTo, int index, long version)
{
    /// <summary>Longest correlation id: 8 hex digits, a dot, 16 hex digits.</summary>
    public const int MaxCorrelationIdLength = 25;

    /// <summary>The queue the reply goes to; null when nothing is stamped.</summary>
    public string? ReplyTo { get; } = replyTo;

    /// <summary>True when the request's reply-to and correlation-id come from here.</summary>
    public bool IsSet => ReplyTo is not null;

    /// <summary>Bytes of the correlation id (counted, not formatted: the header is sized before it is written).</summary>
    public int CorrelationIdLength => HexDigits((uint)index) + 1 + HexDigits((ulong)version);

    /// <summary>The correlation id as a string (for spans and logs only: this allocates).</summary>
    public string CorrelationId => FormatString(index, version);

    /// <summary><c>{index}.{version}</c> as a string (allocates).</summary>
    public static string FormatString(int index, long version)
    {
        Span<byte> id = stackalloc byte[MaxCorrelationIdLength];
        return System.Text.Encoding.ASCII.GetString(id[..Format(id, index, version)]);
    }

    // Digits of the lower-case hex form Utf8Formatter writes (no leading zeros; "0" for zero).
    private static int HexDigits(ulong value) => value == 0 ? 1 : (64 - System.Numerics.BitOperations.LeadingZeroCount(value) + 3) / 4;

    /// <summary>Writes the correlation id as UTF-8 into <paramref name="destination"/> (at least <see cref="MaxCorrelationIdLength"/> bytes); returns its length.</summary>
    public int FormatCorrelationId(Span<byte> destination) => Format(destination, index, version);

    /// <summary>Writes <c>{index}.{version}</c> in lower-case hex; returns its length.</summary>
    public static int Format(Span<byte> destination, int index, long version)
    {
        var hex = new System.Buffers.StandardFormat('x');
        if (!Utf8Formatter.TryFormat(index, destination, out int n, hex))
        {
            throw new ArgumentException("The destination is too small for a correlation id.", nameof(destination));
        }

        destination[n++] = (byte)'.';
        if (!Utf8Formatter.TryFormat(version, destination[n..], out int m, hex))
        {
            throw new ArgumentException("The destination is too small for a correlation id.", nameof(destination));
        }

        return n + m;
    }
}
