using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 10, connection (spec 1.4.2.x plus RabbitMQ's blocked/unblocked and update-secret extensions).
// Field order follows the spec's XML; reserved fields are written as zero values and skipped on decode.

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
