using System.Buffers.Text;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// The RPC fields a publish carries in place of its own properties' (see <see cref="BasicPropertiesCodec"/>), written
/// straight into the frame so that neither side of a call allocates a string or a copy of the properties:
/// <list type="bullet">
/// <item>a request's reply-to and correlation id <c>{index}.{version}</c> (both lower-case hex), formatted in place;</item>
/// <item>a reply's correlation id: the request's, as the bytes it arrived with (<see cref="ForReply"/>); its reply-to is the properties' own.</item>
/// </list>
/// The default value stamps nothing.
/// </summary>
internal readonly struct ReplyStamp
{
    /// <summary>Longest correlation id of a request: 8 hex digits, a dot, 16 hex digits.</summary>
    public const int MaxCorrelationIdLength = 25;

    private readonly int _index;
    private readonly long _version;
    private readonly ReadOnlyMemory<byte> _replyCorrelationId;
    private readonly bool _isReply;

    /// <summary>A request's stamp: replies go to <paramref name="replyTo"/>, correlated by <c>{index}.{version}</c>.</summary>
    public ReplyStamp(string replyTo, int index, long version)
    {
        ReplyTo = replyTo;
        _index = index;
        _version = version;
    }

    private ReplyStamp(ReadOnlyMemory<byte> correlationId)
    {
        _replyCorrelationId = correlationId;
        _isReply = true;
    }

    /// <summary>
    /// A reply's stamp: <paramref name="correlationId"/> (UTF-8, at most 255 bytes; the caller keeps the memory alive
    /// until the publish returns) replaces the properties' correlation id; everything else is the properties' own.
    /// </summary>
    public static ReplyStamp ForReply(ReadOnlyMemory<byte> correlationId)
    {
        if (correlationId.Length > 255)
        {
            throw new ArgumentException($"A correlation id is at most 255 bytes; this one is {correlationId.Length}.", nameof(correlationId));
        }

        return new ReplyStamp(correlationId);
    }

    /// <summary>The queue the reply goes to (a request's stamp); null for a reply's stamp or when nothing is stamped.</summary>
    public string? ReplyTo { get; }

    /// <summary>True when the correlation id (and, for a request, the reply-to) come from here.</summary>
    public bool IsSet => ReplyTo is not null || _isReply;

    /// <summary>Bytes of the correlation id (a request's is counted, not formatted: the header is sized before it is written).</summary>
    public int CorrelationIdLength => _isReply ? _replyCorrelationId.Length : HexDigits((uint)_index) + 1 + HexDigits((ulong)_version);

    /// <summary>The correlation id as a string (for spans and logs only: this allocates).</summary>
    public string CorrelationId => _isReply ? System.Text.Encoding.UTF8.GetString(_replyCorrelationId.Span) : FormatString(_index, _version);

    /// <summary>Writes the correlation id as a short string.</summary>
    public void WriteCorrelationId(ref AmqpEncoder encoder)
    {
        if (_isReply)
        {
            encoder.WriteShortString(_replyCorrelationId.Span);
            return;
        }

        Span<byte> id = stackalloc byte[MaxCorrelationIdLength];
        encoder.WriteShortString(id[..Format(id, _index, _version)]);
    }

    /// <summary><c>{index}.{version}</c> as a string (allocates).</summary>
    public static string FormatString(int index, long version)
    {
        Span<byte> id = stackalloc byte[MaxCorrelationIdLength];
        return System.Text.Encoding.ASCII.GetString(id[..Format(id, index, version)]);
    }

    // Digits of the lower-case hex form Utf8Formatter writes (no leading zeros; "0" for zero).
    private static int HexDigits(ulong value) => value == 0 ? 1 : (64 - System.Numerics.BitOperations.LeadingZeroCount(value) + 3) / 4;

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
