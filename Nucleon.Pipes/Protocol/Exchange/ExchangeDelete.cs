using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 40, exchange (spec 1.6.2.x plus RabbitMQ's exchange-to-exchange bind/unbind).
// Note RabbitMQ's ids: bind 30, bind-ok 31, unbind 40, unbind-ok 51 (not 41).

/// <summary>exchange.delete (40, 20).</summary>
internal readonly record struct ExchangeDelete(string Exchange, bool IfUnused, bool NoWait) : IAmqpMethod<ExchangeDelete>
{
    public static ushort ClassId => 40;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Exchange) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Exchange);
        encoder.WriteBits(IfUnused, NoWait);
    }

    public static ExchangeDelete DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string exchange = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new ExchangeDelete(exchange, (bits & 1) != 0, (bits & 2) != 0);
    }
}
