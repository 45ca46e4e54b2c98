using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 40, exchange (spec 1.6.2.x plus RabbitMQ's exchange-to-exchange bind/unbind).
// Note RabbitMQ's ids: bind 30, bind-ok 31, unbind 40, unbind-ok 51 (not 41).

/// <summary>exchange.unbind (40, 40), RabbitMQ extension.</summary>
internal readonly record struct ExchangeUnbind(
    string Destination, string Source, string RoutingKey, bool NoWait, IDictionary<string, object?>? Arguments)
    : IAmqpMethod<ExchangeUnbind>
{
    public static ushort ClassId => 40;
    public static ushort MethodId => 40;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.ShortStringSize(Destination) + AmqpEncoder.ShortStringSize(Source) + AmqpEncoder.ShortStringSize(RoutingKey)
        + 1 + AmqpEncoder.TableSize(Arguments);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Destination);
        encoder.WriteShortString(Source);
        encoder.WriteShortString(RoutingKey);
        encoder.WriteBits(NoWait);
        encoder.WriteTable(Arguments);
    }

    public static ExchangeUnbind DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string destination = decoder.ReadShortString();
        string source = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        var arguments = decoder.ReadTable();
        return new ExchangeUnbind(destination, source, routingKey, (bits & 1) != 0, arguments);
    }
}
