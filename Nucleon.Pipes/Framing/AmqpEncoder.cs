using System.Buffers.Binary;
using System.Text;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// Writes AMQP primitive types in network byte order into a span whose size the caller
/// computed beforehand (every encodable type has a matching size function).
/// </summary>
internal ref struct AmqpEncoder
{
    private readonly Span<byte> _buffer;
    private int _position;

    public AmqpEncoder(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    public void WriteOctet(byte value) => _buffer[_position++] = value;

    public void WriteShort(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_position..], value);
        _position += 2;
    }

    public void WriteLong(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[_position..], value);
        _position += 4;
    }

    public void WriteLongLong(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_buffer[_position..], value);
        _position += 8;
    }

    public void WriteBytes(scoped ReadOnlySpan<byte> value)
    {
        value.CopyTo(_buffer[_position..]);
        _position += value.Length;
    }

    /// <summary>A short string: one length octet then at most 255 bytes of UTF-8.</summary>
    public void WriteShortString(string? value)
    {
        value ??= string.Empty;
        int length = Encoding.UTF8.GetBytes(value, _buffer[(_position + 1)..]);
        if (length > 255)
        {
            throw new ArgumentException($"The short string \"{Truncate(value)}\" is {length} bytes of UTF-8; AMQP allows at most 255.", nameof(value));
        }

        _buffer[_position] = (byte)length;
        _position += 1 + length;
    }

    /// <summary>A short string already encoded as UTF-8.</summary>
    public void WriteShortString(scoped ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > 255)
        {
            throw new ArgumentException($"A short string is {utf8.Length} bytes; AMQP allows at most 255.", nameof(utf8));
        }

        _buffer[_position++] = (byte)utf8.Length;
        WriteBytes(utf8);
    }

    /// <summary>A long string: a 32-bit length then the UTF-8 bytes.</summary>
    public void WriteLongString(string? value)
    {
        value ??= string.Empty;
        int length = Encoding.UTF8.GetBytes(value, _buffer[(_position + 4)..]);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[_position..], (uint)length);
        _position += 4 + length;
    }

    /// <summary>A long string of raw bytes.</summary>
    public void WriteLongString(ReadOnlySpan<byte> value)
    {
        WriteLong((uint)value.Length);
        WriteBytes(value);
    }

    /// <summary>Reserves space for a 32-bit length to be filled in by <see cref="PatchLong"/>.</summary>
    public int ReserveLong()
    {
        int at = _position;
        _position += 4;
        return at;
    }

    public readonly void PatchLong(int at, uint value) => BinaryPrimitives.WriteUInt32BigEndian(_buffer[at..], value);

    /// <summary>Bits packed into octets, least significant first (spec 4.2.5.2); up to 8 per call.</summary>
    public void WriteBits(bool b0, bool b1 = false, bool b2 = false, bool b3 = false, bool b4 = false)
    {
        int v = (b0 ? 1 : 0) | (b1 ? 2 : 0) | (b2 ? 4 : 0) | (b3 ? 8 : 0) | (b4 ? 16 : 0);
        WriteOctet((byte)v);
    }

    public void WriteTable(IDictionary<string, object?>? table) => FieldTableCodec.Write(ref this, table);

    public static int ShortStringSize(string? value) => 1 + (value is null ? 0 : Encoding.UTF8.GetByteCount(value));

    public static int LongStringSize(string? value) => 4 + (value is null ? 0 : Encoding.UTF8.GetByteCount(value));

    public static int TableSize(IDictionary<string, object?>? table) => FieldTableCodec.GetSize(table);

    private static string Truncate(string value) => value.Length <= 40 ? value : string.Concat(value.AsSpan(0, 40), "…");
}
