using System.Text;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// The property flags and property list of a content header frame (spec 4.2.6.1, class 60 "basic").
/// </summary>
/// <remarks>
/// One 16-bit flag word (bit 15 = content-type … bit 2 = cluster-id; bit 0 would announce a further
/// flag word, which class basic never needs) followed by the present properties in flag order. A null
/// property is absent; zero or empty values are present (priority 0 is sent as flag + octet 0).
/// </remarks>
internal static class BasicPropertiesCodec
{
    private const ushort ContentTypeFlag = 1 << 15;
    private const ushort ContentEncodingFlag = 1 << 14;
    private const ushort HeadersFlag = 1 << 13;
    private const ushort DeliveryModeFlag = 1 << 12;
    private const ushort PriorityFlag = 1 << 11;
    private const ushort CorrelationIdFlag = 1 << 10;
    private const ushort ReplyToFlag = 1 << 9;
    private const ushort ExpirationFlag = 1 << 8;
    private const ushort MessageIdFlag = 1 << 7;
    private const ushort TimestampFlag = 1 << 6;
    private const ushort TypeFlag = 1 << 5;
    private const ushort UserIdFlag = 1 << 4;
    private const ushort AppIdFlag = 1 << 3;
    private const ushort ClusterIdFlag = 1 << 2;
    private const ushort ContinuationFlag = 1;

    /// <summary>Size of the property flags and property list.</summary>
    /// <exception cref="ArgumentException">A short-string property exceeds 255 bytes, or the headers cannot be encoded.</exception>
    public static int GetSize(BasicProperties? properties) => GetSize(properties, default);

    /// <summary>As <see cref="GetSize(BasicProperties?)"/>, with reply-to and correlation-id from <paramref name="stamp"/> when it is set.</summary>
    public static int GetSize(BasicProperties? properties, in ReplyStamp stamp)
    {
        if ((properties is null || properties.IsEmpty) && !stamp.IsSet)
        {
            return 2;
        }

        properties ??= BasicProperties.Empty;
        int size = 2;
        size += ShortStringSize(properties.ContentType, "ContentType");
        size += ShortStringSize(properties.ContentEncoding, "ContentEncoding");
        if (properties.Headers is not null)
        {
            size += FieldTableCodec.GetSize(properties.Headers);
        }

        size += properties.DeliveryMode is null ? 0 : 1;
        size += properties.Priority is null ? 0 : 1;
        size += stamp.IsSet ? 1 + stamp.CorrelationIdLength : ShortStringSize(properties.CorrelationId, "CorrelationId");
        size += ShortStringSize(stamp.ReplyTo ?? properties.ReplyTo, "ReplyTo");

        size += ShortStringSize(properties.Expiration, "Expiration");
        size += ShortStringSize(properties.MessageId, "MessageId");
        size += properties.Timestamp is null ? 0 : 8;
        size += ShortStringSize(properties.Type, "Type");
        size += ShortStringSize(properties.UserId, "UserId");
        size += ShortStringSize(properties.AppId, "AppId");
        size += ShortStringSize(properties.ClusterId, "ClusterId");
        return size;
    }

    /// <summary>Writes the property flags and property list.</summary>
    public static void Write(ref AmqpEncoder encoder, BasicProperties? properties) => Write(ref encoder, properties, default);

    /// <summary>As <see cref="Write(ref AmqpEncoder, BasicProperties?)"/>, with reply-to and correlation-id from <paramref name="stamp"/> when it is set.</summary>
    public static void Write(ref AmqpEncoder encoder, BasicProperties? properties, in ReplyStamp stamp)
    {
        if ((properties is null || properties.IsEmpty) && !stamp.IsSet)
        {
            encoder.WriteShort(0);
            return;
        }

        BasicProperties p = properties ?? BasicProperties.Empty;
        int flags = 0;
        flags |= p.ContentType is null ? 0 : ContentTypeFlag;
        flags |= p.ContentEncoding is null ? 0 : ContentEncodingFlag;
        flags |= p.Headers is null ? 0 : HeadersFlag;
        flags |= p.DeliveryMode is null ? 0 : DeliveryModeFlag;
        flags |= p.Priority is null ? 0 : PriorityFlag;
        flags |= p.CorrelationId is null && !stamp.IsSet ? 0 : CorrelationIdFlag;
        string? replyTo = stamp.ReplyTo ?? p.ReplyTo;
        flags |= replyTo is null ? 0 : ReplyToFlag;
        flags |= p.Expiration is null ? 0 : ExpirationFlag;
        flags |= p.MessageId is null ? 0 : MessageIdFlag;
        flags |= p.Timestamp is null ? 0 : TimestampFlag;
        flags |= p.Type is null ? 0 : TypeFlag;
        flags |= p.UserId is null ? 0 : UserIdFlag;
        flags |= p.AppId is null ? 0 : AppIdFlag;
        flags |= p.ClusterId is null ? 0 : ClusterIdFlag;
        encoder.WriteShort((ushort)flags);

        if (p.ContentType is not null)
        {
            encoder.WriteShortString(p.ContentType);
        }

        if (p.ContentEncoding is not null)
        {
            encoder.WriteShortString(p.ContentEncoding);
        }

        if (p.Headers is not null)
        {
            FieldTableCodec.Write(ref encoder, p.Headers);
        }

        if (p.DeliveryMode is { } deliveryMode)
        {
            encoder.WriteOctet((byte)deliveryMode);
        }

        if (p.Priority is { } priority)
        {
            encoder.WriteOctet(priority);
        }

        if (stamp.IsSet)
        {
            stamp.WriteCorrelationId(ref encoder);
        }
        else if (p.CorrelationId is not null)
        {
            encoder.WriteShortString(p.CorrelationId);
        }

        if (replyTo is not null)
        {
            encoder.WriteShortString(replyTo);
        }

        if (p.Expiration is not null)
        {
            encoder.WriteShortString(p.Expiration);
        }

        if (p.MessageId is not null)
        {
            encoder.WriteShortString(p.MessageId);
        }

        if (p.Timestamp is { } timestamp)
        {
            encoder.WriteLongLong(timestamp.UnixSeconds);
        }

        if (p.Type is not null)
        {
            encoder.WriteShortString(p.Type);
        }

        if (p.UserId is not null)
        {
            encoder.WriteShortString(p.UserId);
        }

        if (p.AppId is not null)
        {
            encoder.WriteShortString(p.AppId);
        }

        if (p.ClusterId is not null)
        {
            encoder.WriteShortString(p.ClusterId);
        }
    }

    /// <summary>As <see cref="Read(ref AmqpDecoder)"/>, from property bytes kept as received (see <see cref="TryWalkPlain(ReadOnlySpan{byte}, out ReadOnlySpan{byte})"/>).</summary>
    public static BasicProperties Read(ReadOnlySpan<byte> bytes)
    {
        var decoder = new AmqpDecoder(bytes);
        return Read(ref decoder);
    }

    /// <summary>Reads the property flags and list; returns <see cref="BasicProperties.Empty"/> when no flag is set.</summary>
    public static BasicProperties Read(ref AmqpDecoder decoder)
    {
        ushort flags = decoder.ReadShort();
        if (flags == 0)
        {
            return BasicProperties.Empty;
        }

        if ((flags & ContinuationFlag) != 0)
        {
            throw new AmqpProtocolException(
                AmqpReplyCode.SyntaxError, $"The basic property flags 0x{flags:X4} announce a continuation flag word; class basic has only 14 properties.");
        }

        string? contentType = (flags & ContentTypeFlag) != 0 ? ReadText(ref decoder) : null;
        string? contentEncoding = (flags & ContentEncodingFlag) != 0 ? ReadText(ref decoder) : null;
        Dictionary<string, object?>? headers = (flags & HeadersFlag) != 0 ? FieldTableCodec.Read(ref decoder, depth: 0) : null;
        DeliveryMode? deliveryMode = (flags & DeliveryModeFlag) != 0 ? (DeliveryMode)decoder.ReadOctet() : null;
        byte? priority = (flags & PriorityFlag) != 0 ? decoder.ReadOctet() : null;
        string? correlationId = (flags & CorrelationIdFlag) != 0 ? ReadText(ref decoder) : null;
        string? replyTo = (flags & ReplyToFlag) != 0 ? ReadText(ref decoder) : null;
        string? expiration = (flags & ExpirationFlag) != 0 ? ReadText(ref decoder) : null;
        string? messageId = (flags & MessageIdFlag) != 0 ? ReadText(ref decoder) : null;
        AmqpTimestamp? timestamp = (flags & TimestampFlag) != 0 ? new AmqpTimestamp(decoder.ReadLongLong()) : null;
        string? type = (flags & TypeFlag) != 0 ? ReadText(ref decoder) : null;
        string? userId = (flags & UserIdFlag) != 0 ? ReadText(ref decoder) : null;
        string? appId = (flags & AppIdFlag) != 0 ? ReadText(ref decoder) : null;
        string? clusterId = (flags & ClusterIdFlag) != 0 ? ReadText(ref decoder) : null;

        return new BasicProperties
        {
            ContentType = contentType,
            ContentEncoding = contentEncoding,
            Headers = headers,
            DeliveryMode = deliveryMode,
            Priority = priority,
            CorrelationId = correlationId,
            ReplyTo = replyTo,
            Expiration = expiration,
            MessageId = messageId,
            Timestamp = timestamp,
            Type = type,
            UserId = userId,
            AppId = appId,
            ClusterId = clusterId,
        };
    }

    /// <summary>
    /// Checks the property flags and list in <paramref name="bytes"/> as <see cref="Read(ref AmqpDecoder)"/> would, without making
    /// anything, and finds the correlation id. False when the list carries headers (a field table: decode it with
    /// <see cref="Read(ref AmqpDecoder)"/>); a malformed list throws as <see cref="Read(ref AmqpDecoder)"/> does.
    /// </summary>
    public static bool TryWalkPlain(ReadOnlySpan<byte> bytes, out ReadOnlySpan<byte> correlationId) =>
        TryWalkPlain(bytes, out _, out correlationId, out _);

    /// <summary>
    /// As <see cref="TryWalkPlain(ReadOnlySpan{byte}, out ReadOnlySpan{byte})"/>, and finds the reply-to too;
    /// <paramref name="flags"/> tells which properties are present (<see cref="CarriesCorrelationId"/>, <see cref="CarriesReplyTo"/>),
    /// since an empty property and an absent one both give an empty span.
    /// </summary>
    public static bool TryWalkPlain(ReadOnlySpan<byte> bytes, out ushort flags, out ReadOnlySpan<byte> correlationId, out ReadOnlySpan<byte> replyTo)
    {
        correlationId = default;
        replyTo = default;
        var decoder = new AmqpDecoder(bytes);
        flags = decoder.ReadShort();
        if ((flags & HeadersFlag) != 0)
        {
            return false;
        }

        if ((flags & ContinuationFlag) != 0)
        {
            throw new AmqpProtocolException(
                AmqpReplyCode.SyntaxError, $"The basic property flags 0x{flags:X4} announce a continuation flag word; class basic has only 14 properties.");
        }

        // In flag order (bit 15 down to bit 2); headers (bit 13) were excluded above.
        for (int bit = 15; bit >= 2; bit--)
        {
            if ((flags & (1 << bit)) == 0)
            {
                continue;
            }

            switch ((ushort)(1 << bit))
            {
                case DeliveryModeFlag:
                case PriorityFlag:
                    decoder.ReadOctet();
                    break;
                case TimestampFlag:
                    decoder.ReadLongLong();
                    break;
                case CorrelationIdFlag:
                    correlationId = decoder.ReadShortStringBytes();
                    break;
                case ReplyToFlag:
                    replyTo = decoder.ReadShortStringBytes();
                    break;
                default:
                    decoder.ReadShortStringBytes();
                    break;
            }
        }

        return true;
    }

    /// <summary>Whether property <paramref name="flags"/> announce a correlation id.</summary>
    public static bool CarriesCorrelationId(ushort flags) => (flags & CorrelationIdFlag) != 0;

    /// <summary>Whether property <paramref name="flags"/> announce a reply-to.</summary>
    public static bool CarriesReplyTo(ushort flags) => (flags & ReplyToFlag) != 0;

    private static int ShortStringSize(string? value, string property)
    {
        if (value is null)
        {
            return 0;
        }

        int length = Encoding.UTF8.GetByteCount(value);
        if (length > 255)
        {
            throw new ArgumentException($"The {property} property is {length} bytes of UTF-8; AMQP allows at most 255.", nameof(value));
        }

        return 1 + length;
    }

    // A property that is not valid UTF-8 is still a valid message: decode it with U+FFFD for the bad
    // bytes instead of closing the connection over one message.
    private static string ReadText(ref AmqpDecoder decoder)
    {
        ReadOnlySpan<byte> bytes = decoder.ReadShortStringBytes();
        return bytes.IsEmpty ? string.Empty : System.Text.Encoding.UTF8.GetString(bytes);
    }
}
