using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 40, exchange (spec 1.6.2.x plus RabbitMQ's exchange-to-exchange bind/unbind).
// Note RabbitMQ's ids: bind 30, bind-ok 31, unbind 40, unbind-ok 51 (not 41).

/// <summary>exchange.declare-ok (40, 11).</summary>
internal readonly record struct ExchangeDeclareOk : IAmqpMethod<ExchangeDeclareOk>
{
    public static ushort ClassId => 40;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ExchangeDeclareOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
