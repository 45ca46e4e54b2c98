using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 40, exchange (spec 1.6.2.x plus RabbitMQ's exchange-to-exchange bind/unbind).
// Note RabbitMQ's ids: bind 30, bind-ok 31, unbind 40, unbind-ok 51 (not 41).

/// <summary>exchange.declare (40, 10).</summary>
internal readonly record struct ExchangeDeclare(
    string Exchange, string Type, bool Passive, bool Durable, bool AutoDelete, bool Internal, bool NoWait,
    IDictionary<string, object?>? Arguments) : IAmqpMethod<ExchangeDeclare>
{
    public static ushort ClassId => 40;
    public static ushort MethodId => 10;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(Type) + 1 + AmqpEncoder.TableSize(Arguments);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(Type);
        encoder.WriteBits(Passive, Durable, AutoDelete, Internal, NoWait);
        encoder.WriteTable(Arguments);
    }

    public static ExchangeDeclare DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string exchange = decoder.ReadShortString();
        string type = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        var arguments = decoder.ReadTable();
        return new ExchangeDeclare(exchange, type, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0, (bits & 16) != 0, arguments);
    }
}
