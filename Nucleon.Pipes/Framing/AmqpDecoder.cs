using System.Buffers.Binary;
using System.Text;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// Reads AMQP primitive types from one frame's payload. Every read checks the remaining length
/// first, so a truncated or lying payload raises <see cref="AmqpProtocolException"/> (502 SYNTAX_ERROR)
/// and never reads past the frame or allocates what a length field merely claims.
/// </summary>
internal ref struct AmqpDecoder
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public AmqpDecoder(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly int Remaining => _buffer.Length - _position;

    public byte ReadOctet()
    {
        Need(1);
        return _buffer[_position++];
    }

    public ushort ReadShort()
    {
        Need(2);
        ushort v = BinaryPrimitives.ReadUInt16BigEndian(_buffer[_position..]);
        _position += 2;
        return v;
    }

    public uint ReadLong()
    {
        Need(4);
        uint v = BinaryPrimitives.ReadUInt32BigEndian(_buffer[_position..]);
        _position += 4;
        return v;
    }

    public ulong ReadLongLong()
    {
        Need(8);
        ulong v = BinaryPrimitives.ReadUInt64BigEndian(_buffer[_position..]);
        _position += 8;
        return v;
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0)
        {
            throw Truncated();
        }

        Need(count);
        ReadOnlySpan<byte> s = _buffer.Slice(_position, count);
        _position += count;
        return s;
    }

    /// <summary>The raw UTF-8 bytes of a short string, without allocating.</summary>
    public ReadOnlySpan<byte> ReadShortStringBytes() => ReadBytes(ReadOctet());

    public string ReadShortString() => DecodeUtf8(ReadShortStringBytes(), "short string");

    /// <summary>The raw bytes of a long string.</summary>
    public ReadOnlySpan<byte> ReadLongStringBytes()
    {
        uint length = ReadLong();
        if (length > (uint)Remaining)
        {
            throw Truncated();
        }

        return ReadBytes((int)length);
    }

    public string ReadLongString() => DecodeUtf8(ReadLongStringBytes(), "long string");

    public IDictionary<string, object?> ReadTable() => FieldTableCodec.Read(ref this, depth: 0);

    public static string DecodeUtf8(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.IsEmpty)
        {
            return string.Empty;
        }

        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new AmqpProtocolException(AmqpReplyCode.SyntaxError, $"A {what} is not valid UTF-8.");
        }
    }

    private readonly void Need(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _position))
        {
            throw Truncated();
        }
    }

    private readonly AmqpProtocolException Truncated() =>
        new(AmqpReplyCode.SyntaxError, $"Truncated frame payload: a field at offset {_position} runs past the end of its {_buffer.Length}-byte frame.");
}
