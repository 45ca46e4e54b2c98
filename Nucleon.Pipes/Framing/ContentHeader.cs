using System.Buffers;
using System.Buffers.Binary;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Framing;

/// <summary>Content header payload: class-id (2), weight (2), body-size (8), then the property flags and list.</summary>
internal static class ContentHeader
{
    /// <summary>Reads the fixed prefix; the decoder is left at the property flags.</summary>
    public static (ushort ClassId, ulong BodySize) ReadPrefix(ref AmqpDecoder d)
    {
        ushort classId = d.ReadShort();
        d.ReadShort(); // weight: unused
        ulong bodySize = d.ReadLongLong();
        return (classId, bodySize);
    }

    /// <summary>Reads a whole contiguous content header payload; 502 SYNTAX_ERROR on truncation or trailing bytes.</summary>
    public static (ushort ClassId, ulong BodySize, BasicProperties Properties) Read(ReadOnlySpan<byte> payload)
    {
        var decoder = new AmqpDecoder(payload);
        (ushort classId, ulong bodySize) = ReadPrefix(ref decoder);
        BasicProperties properties = BasicPropertiesCodec.Read(ref decoder);
        if (decoder.Remaining != 0)
        {
            throw new AmqpProtocolException(AmqpReplyCode.SyntaxError, $"A content header has {decoder.Remaining} unexpected bytes after its properties.");
        }

        return (classId, bodySize, properties);
    }
}
