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

/// <summary>exchange.declare-ok (40, 11).</summary>
internal readonly record struct ExchangeDeclareOk : IAmqpMethod<ExchangeDeclareOk>
{
    public static ushort ClassId => 40;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ExchangeDeclareOk DecodeArguments(ref AmqpDecoder decoder) => default;
}

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

/// <summary>exchange.delete-ok (40, 21).</summary>
internal readonly record struct ExchangeDeleteOk : IAmqpMethod<ExchangeDeleteOk>
{
    public static ushort ClassId => 40;
    public static ushort MethodId => 21;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ExchangeDeleteOk DecodeArguments(ref AmqpDecoder decoder) => default;
}

/// <summary>exchange.bind (40, 30), RabbitMQ extension: routes from <see cref="Source"/> to <see cref="Destination"/>.</summary>
internal readonly record struct ExchangeBind(
    string Destination, string Source, string RoutingKey, bool NoWait, IDictionary<string, object?>? Arguments)
    : IAmqpMethod<ExchangeBind>
{
    public static ushort ClassId => 40;
    public static ushort MethodId => 30;

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

    public static ExchangeBind DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string destination = decoder.ReadShortString();
        string source = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        var arguments = decoder.ReadTable();
        return new ExchangeBind(destination, source, routingKey, (bits & 1) != 0, arguments);
    }
}

/// <summary>exchange.bind-ok (40, 31).</summary>
internal readonly record struct ExchangeBindOk : IAmqpMethod<ExchangeBindOk>
{
    public static ushort ClassId => 40;
    public static ushort MethodId => 31;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ExchangeBindOk DecodeArguments(ref AmqpDecoder decoder) => default;
}

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

/// <summary>exchange.unbind-ok (40, 51): RabbitMQ's id is 51, not 41.</summary>
internal readonly record struct ExchangeUnbindOk : IAmqpMethod<ExchangeUnbindOk>
{
    public static ushort ClassId => 40;
    public static ushort MethodId => 51;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ExchangeUnbindOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
