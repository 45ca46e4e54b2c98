using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

/// <summary>connection.start (10, 10), server to client.</summary>
internal readonly record struct ConnectionStart(
    byte VersionMajor, byte VersionMinor, IDictionary<string, object?>? ServerProperties, string Mechanisms, string Locales)
    : IAmqpMethod<ConnectionStart>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 10;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.TableSize(ServerProperties) + AmqpEncoder.LongStringSize(Mechanisms) + AmqpEncoder.LongStringSize(Locales);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteOctet(VersionMajor);
        encoder.WriteOctet(VersionMinor);
        encoder.WriteTable(ServerProperties);
        encoder.WriteLongString(Mechanisms);
        encoder.WriteLongString(Locales);
    }

    public static ConnectionStart DecodeArguments(ref AmqpDecoder decoder)
    {
        byte major = decoder.ReadOctet();
        byte minor = decoder.ReadOctet();
        var serverProperties = decoder.ReadTable();
        string mechanisms = decoder.ReadLongString();
        string locales = decoder.ReadLongString();
        return new ConnectionStart(major, minor, serverProperties, mechanisms, locales);
    }
}

/// <summary>connection.start-ok (10, 11). <see cref="Response"/> is the SASL response: binary, not text.</summary>
internal readonly record struct ConnectionStartOk(
    IDictionary<string, object?>? ClientProperties, string Mechanism, byte[] Response, string Locale)
    : IAmqpMethod<ConnectionStartOk>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() =>
        AmqpEncoder.TableSize(ClientProperties) + AmqpEncoder.ShortStringSize(Mechanism)
        + 4 + (Response?.Length ?? 0) + AmqpEncoder.ShortStringSize(Locale);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteTable(ClientProperties);
        encoder.WriteShortString(Mechanism);
        encoder.WriteLongString(Response.AsSpan());
        encoder.WriteShortString(Locale);
    }

    public static ConnectionStartOk DecodeArguments(ref AmqpDecoder decoder)
    {
        var clientProperties = decoder.ReadTable();
        string mechanism = decoder.ReadShortString();
        byte[] response = decoder.ReadLongStringBytes().ToArray();
        string locale = decoder.ReadShortString();
        return new ConnectionStartOk(clientProperties, mechanism, response, locale);
    }
}

/// <summary>connection.secure (10, 20), server to client: a SASL challenge.</summary>
internal readonly record struct ConnectionSecure(byte[] Challenge) : IAmqpMethod<ConnectionSecure>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() => 4 + (Challenge?.Length ?? 0);

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteLongString(Challenge.AsSpan());

    public static ConnectionSecure DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadLongStringBytes().ToArray());
}

/// <summary>connection.secure-ok (10, 21): the SASL response to a challenge.</summary>
internal readonly record struct ConnectionSecureOk(byte[] Response) : IAmqpMethod<ConnectionSecureOk>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 21;

    public int GetArgumentsSize() => 4 + (Response?.Length ?? 0);

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteLongString(Response.AsSpan());

    public static ConnectionSecureOk DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadLongStringBytes().ToArray());
}

/// <summary>connection.tune (10, 30), server to client: the server's limits (0 = no limit).</summary>
internal readonly record struct ConnectionTune(ushort ChannelMax, uint FrameMax, ushort Heartbeat) : IAmqpMethod<ConnectionTune>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 30;

    public int GetArgumentsSize() => 8;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(ChannelMax);
        encoder.WriteLong(FrameMax);
        encoder.WriteShort(Heartbeat);
    }

    public static ConnectionTune DecodeArguments(ref AmqpDecoder decoder)
    {
        ushort channelMax = decoder.ReadShort();
        uint frameMax = decoder.ReadLong();
        ushort heartbeat = decoder.ReadShort();
        return new ConnectionTune(channelMax, frameMax, heartbeat);
    }
}

/// <summary>connection.tune-ok (10, 31): the values the client settled on.</summary>
internal readonly record struct ConnectionTuneOk(ushort ChannelMax, uint FrameMax, ushort Heartbeat) : IAmqpMethod<ConnectionTuneOk>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 31;

    public int GetArgumentsSize() => 8;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(ChannelMax);
        encoder.WriteLong(FrameMax);
        encoder.WriteShort(Heartbeat);
    }

    public static ConnectionTuneOk DecodeArguments(ref AmqpDecoder decoder)
    {
        ushort channelMax = decoder.ReadShort();
        uint frameMax = decoder.ReadLong();
        ushort heartbeat = decoder.ReadShort();
        return new ConnectionTuneOk(channelMax, frameMax, heartbeat);
    }
}

/// <summary>connection.open (10, 40).</summary>
internal readonly record struct ConnectionOpen(string VirtualHost) : IAmqpMethod<ConnectionOpen>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 40;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(VirtualHost) + 1 + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShortString(VirtualHost);
        encoder.WriteOctet(0); // reserved-1 (capabilities): empty short string
        encoder.WriteOctet(0); // reserved-2 (insist): a bit, false
    }

    public static ConnectionOpen DecodeArguments(ref AmqpDecoder decoder)
    {
        string virtualHost = decoder.ReadShortString();
        decoder.ReadShortStringBytes();
        decoder.ReadOctet();
        return new ConnectionOpen(virtualHost);
    }
}

/// <summary>connection.open-ok (10, 41).</summary>
internal readonly record struct ConnectionOpenOk : IAmqpMethod<ConnectionOpenOk>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 41;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteOctet(0); // reserved-1 (known-hosts): empty short string

    public static ConnectionOpenOk DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShortStringBytes();
        return default;
    }
}

/// <summary>connection.close (10, 50), either direction. Class and method id name the method that caused the close, or 0.</summary>
internal readonly record struct ConnectionClose(ushort ReplyCode, string ReplyText, ushort FailingClassId, ushort FailingMethodId)
    : IAmqpMethod<ConnectionClose>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 50;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(ReplyText) + 4;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(ReplyCode);
        encoder.WriteShortString(ReplyText);
        encoder.WriteShort(FailingClassId);
        encoder.WriteShort(FailingMethodId);
    }

    public static ConnectionClose DecodeArguments(ref AmqpDecoder decoder)
    {
        ushort replyCode = decoder.ReadShort();
        string replyText = decoder.ReadShortString();
        ushort classId = decoder.ReadShort();
        ushort methodId = decoder.ReadShort();
        return new ConnectionClose(replyCode, replyText, classId, methodId);
    }
}

/// <summary>connection.close-ok (10, 51).</summary>
internal readonly record struct ConnectionCloseOk : IAmqpMethod<ConnectionCloseOk>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 51;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ConnectionCloseOk DecodeArguments(ref AmqpDecoder decoder) => default;
}

/// <summary>connection.blocked (10, 60), RabbitMQ extension: the broker stopped reading publishes (resource alarm).</summary>
internal readonly record struct ConnectionBlocked(string Reason) : IAmqpMethod<ConnectionBlocked>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 60;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(Reason);

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteShortString(Reason);

    public static ConnectionBlocked DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadShortString());
}

/// <summary>connection.unblocked (10, 61), RabbitMQ extension.</summary>
internal readonly record struct ConnectionUnblocked : IAmqpMethod<ConnectionUnblocked>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 61;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ConnectionUnblocked DecodeArguments(ref AmqpDecoder decoder) => default;
}

/// <summary>connection.update-secret (10, 70), RabbitMQ extension: replaces the credential (e.g. an expiring OAuth token).</summary>
internal readonly record struct ConnectionUpdateSecret(byte[] NewSecret, string Reason) : IAmqpMethod<ConnectionUpdateSecret>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 70;

    public int GetArgumentsSize() => 4 + (NewSecret?.Length ?? 0) + AmqpEncoder.ShortStringSize(Reason);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLongString(NewSecret.AsSpan());
        encoder.WriteShortString(Reason);
    }

    public static ConnectionUpdateSecret DecodeArguments(ref AmqpDecoder decoder)
    {
        byte[] newSecret = decoder.ReadLongStringBytes().ToArray();
        string reason = decoder.ReadShortString();
        return new ConnectionUpdateSecret(newSecret, reason);
    }
}

/// <summary>connection.update-secret-ok (10, 71), RabbitMQ extension.</summary>
internal readonly record struct ConnectionUpdateSecretOk : IAmqpMethod<ConnectionUpdateSecretOk>
{
    public static ushort ClassId => 10;
    public static ushort MethodId => 71;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ConnectionUpdateSecretOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
