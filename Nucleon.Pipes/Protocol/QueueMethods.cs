using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 50, queue (spec 1.7.2.x). Field order and bit packing follow the spec's XML.

/// <summary>queue.declare (50, 10).</summary>
internal readonly record struct QueueDeclare(
    string Queue, bool Passive, bool Durable, bool Exclusive, bool AutoDelete, bool NoWait,
    IDictionary<string, object?>? Arguments) : IAmqpMethod<QueueDeclare>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 10;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Queue) + 1 + AmqpEncoder.TableSize(Arguments);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteBits(Passive, Durable, Exclusive, AutoDelete, NoWait);
        encoder.WriteTable(Arguments);
    }

    public static QueueDeclare DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        var arguments = decoder.ReadTable();
        return new QueueDeclare(queue, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0, (bits & 16) != 0, arguments);
    }
}

/// <summary>queue.declare-ok (50, 11).</summary>
internal readonly record struct QueueDeclareOk(string Queue, uint MessageCount, uint ConsumerCount) : IAmqpMethod<QueueDeclareOk>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(Queue) + 8;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShortString(Queue);
        encoder.WriteLong(MessageCount);
        encoder.WriteLong(ConsumerCount);
    }

    public static QueueDeclareOk DecodeArguments(ref AmqpDecoder decoder) =>
        new(decoder.ReadShortString(), decoder.ReadLong(), decoder.ReadLong());
}

/// <summary>queue.bind (50, 20).</summary>
internal readonly record struct QueueBind(
    string Queue, string Exchange, string RoutingKey, bool NoWait, IDictionary<string, object?>? Arguments)
    : IAmqpMethod<QueueBind>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.ShortStringSize(Queue) + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey)
        + 1 + AmqpEncoder.TableSize(Arguments);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
        encoder.WriteBits(NoWait);
        encoder.WriteTable(Arguments);
    }

    public static QueueBind DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        var arguments = decoder.ReadTable();
        return new QueueBind(queue, exchange, routingKey, (bits & 1) != 0, arguments);
    }
}

/// <summary>queue.bind-ok (50, 21).</summary>
internal readonly record struct QueueBindOk : IAmqpMethod<QueueBindOk>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 21;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static QueueBindOk DecodeArguments(ref AmqpDecoder decoder) => default;
}

/// <summary>queue.purge (50, 30).</summary>
internal readonly record struct QueuePurge(string Queue, bool NoWait) : IAmqpMethod<QueuePurge>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 30;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Queue) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteBits(NoWait);
    }

    public static QueuePurge DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new QueuePurge(queue, (bits & 1) != 0);
    }
}

/// <summary>queue.purge-ok (50, 31).</summary>
internal readonly record struct QueuePurgeOk(uint MessageCount) : IAmqpMethod<QueuePurgeOk>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 31;

    public int GetArgumentsSize() => 4;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteLong(MessageCount);

    public static QueuePurgeOk DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadLong());
}

/// <summary>queue.delete (50, 40).</summary>
internal readonly record struct QueueDelete(string Queue, bool IfUnused, bool IfEmpty, bool NoWait) : IAmqpMethod<QueueDelete>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 40;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Queue) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteBits(IfUnused, IfEmpty, NoWait);
    }

    public static QueueDelete DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new QueueDelete(queue, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0);
    }
}

/// <summary>queue.delete-ok (50, 41).</summary>
internal readonly record struct QueueDeleteOk(uint MessageCount) : IAmqpMethod<QueueDeleteOk>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 41;

    public int GetArgumentsSize() => 4;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteLong(MessageCount);

    public static QueueDeleteOk DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadLong());
}

/// <summary>queue.unbind (50, 50). Unlike queue.bind it has no no-wait bit.</summary>
internal readonly record struct QueueUnbind(
    string Queue, string Exchange, string RoutingKey, IDictionary<string, object?>? Arguments)
    : IAmqpMethod<QueueUnbind>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 50;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.ShortStringSize(Queue) + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey)
        + AmqpEncoder.TableSize(Arguments);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
        encoder.WriteTable(Arguments);
    }

    public static QueueUnbind DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        var arguments = decoder.ReadTable();
        return new QueueUnbind(queue, exchange, routingKey, arguments);
    }
}

/// <summary>queue.unbind-ok (50, 51).</summary>
internal readonly record struct QueueUnbindOk : IAmqpMethod<QueueUnbindOk>
{
    public static ushort ClassId => 50;
    public static ushort MethodId => 51;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static QueueUnbindOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
