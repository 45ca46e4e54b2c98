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
