using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 60, basic (spec 1.8.2.x plus RabbitMQ's basic.nack). Field order and bit packing follow the spec's XML.

/// <summary>basic.qos (60, 10).</summary>
internal readonly record struct BasicQos(uint PrefetchSize, ushort PrefetchCount, bool Global) : IAmqpMethod<BasicQos>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 10;

    public int GetArgumentsSize() => 4 + 2 + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLong(PrefetchSize);
        encoder.WriteShort(PrefetchCount);
        encoder.WriteBits(Global);
    }

    public static BasicQos DecodeArguments(ref AmqpDecoder decoder)
    {
        uint prefetchSize = decoder.ReadLong();
        ushort prefetchCount = decoder.ReadShort();
        byte bits = decoder.ReadOctet();
        return new BasicQos(prefetchSize, prefetchCount, (bits & 1) != 0);
    }
}

/// <summary>basic.qos-ok (60, 11).</summary>
internal readonly record struct BasicQosOk : IAmqpMethod<BasicQosOk>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static BasicQosOk DecodeArguments(ref AmqpDecoder decoder) => default;
}

/// <summary>basic.consume (60, 20).</summary>
internal readonly record struct BasicConsume(
    string Queue, string ConsumerTag, bool NoLocal, bool NoAck, bool Exclusive, bool NoWait, IDictionary<string, object?>? Arguments)
    : IAmqpMethod<BasicConsume>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.ShortStringSize(Queue) + AmqpEncoder.ShortStringSize(ConsumerTag) + 1 + AmqpEncoder.TableSize(Arguments);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteShortString(ConsumerTag);
        encoder.WriteBits(NoLocal, NoAck, Exclusive, NoWait);
        encoder.WriteTable(Arguments);
    }

    public static BasicConsume DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        string consumerTag = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        var arguments = decoder.ReadTable();
        return new BasicConsume(queue, consumerTag, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0, arguments);
    }
}

/// <summary>basic.consume-ok (60, 21).</summary>
internal readonly record struct BasicConsumeOk(string ConsumerTag) : IAmqpMethod<BasicConsumeOk>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 21;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(ConsumerTag);

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteShortString(ConsumerTag);

    public static BasicConsumeOk DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadShortString());
}

/// <summary>basic.cancel (60, 30). RabbitMQ also sends it to the client when a queue goes away (consumer_cancel_notify).</summary>
internal readonly record struct BasicCancel(string ConsumerTag, bool NoWait) : IAmqpMethod<BasicCancel>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 30;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(ConsumerTag) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShortString(ConsumerTag);
        encoder.WriteBits(NoWait);
    }

    public static BasicCancel DecodeArguments(ref AmqpDecoder decoder)
    {
        string consumerTag = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new BasicCancel(consumerTag, (bits & 1) != 0);
    }
}

/// <summary>basic.cancel-ok (60, 31).</summary>
internal readonly record struct BasicCancelOk(string ConsumerTag) : IAmqpMethod<BasicCancelOk>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 31;

    public int GetArgumentsSize() => AmqpEncoder.ShortStringSize(ConsumerTag);

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteShortString(ConsumerTag);

    public static BasicCancelOk DecodeArguments(ref AmqpDecoder decoder) => new(decoder.ReadShortString());
}

/// <summary>basic.publish (60, 40), followed by a content header and body.</summary>
internal readonly record struct BasicPublish(string Exchange, string RoutingKey, bool Mandatory, bool Immediate) : IAmqpMethod<BasicPublish>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 40;
    public static bool HasContent => true;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
        encoder.WriteBits(Mandatory, Immediate);
    }

    public static BasicPublish DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new BasicPublish(exchange, routingKey, (bits & 1) != 0, (bits & 2) != 0);
    }
}

/// <summary>basic.return (60, 50), followed by a content header and body.</summary>
internal readonly record struct BasicReturn(ushort ReplyCode, string ReplyText, string Exchange, string RoutingKey) : IAmqpMethod<BasicReturn>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 50;
    public static bool HasContent => true;

    public int GetArgumentsSize() =>
        2 + AmqpEncoder.ShortStringSize(ReplyText) + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(ReplyCode);
        encoder.WriteShortString(ReplyText);
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
    }

    public static BasicReturn DecodeArguments(ref AmqpDecoder decoder)
    {
        ushort replyCode = decoder.ReadShort();
        string replyText = decoder.ReadShortString();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        return new BasicReturn(replyCode, replyText, exchange, routingKey);
    }
}

/// <summary>basic.deliver (60, 60), followed by a content header and body.</summary>
internal readonly record struct BasicDeliver(string ConsumerTag, ulong DeliveryTag, bool Redelivered, string Exchange, string RoutingKey)
    : IAmqpMethod<BasicDeliver>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 60;
    public static bool HasContent => true;

    public int GetArgumentsSize() =>
        AmqpEncoder.ShortStringSize(ConsumerTag) + 8 + 1 + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey);

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShortString(ConsumerTag);
        encoder.WriteLongLong(DeliveryTag);
        encoder.WriteBits(Redelivered);
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
    }

    public static BasicDeliver DecodeArguments(ref AmqpDecoder decoder)
    {
        string consumerTag = decoder.ReadShortString();
        ulong deliveryTag = decoder.ReadLongLong();
        byte bits = decoder.ReadOctet();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        return new BasicDeliver(consumerTag, deliveryTag, (bits & 1) != 0, exchange, routingKey);
    }
}

/// <summary>basic.get (60, 70).</summary>
internal readonly record struct BasicGet(string Queue, bool NoAck) : IAmqpMethod<BasicGet>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 70;

    public int GetArgumentsSize() => 2 + AmqpEncoder.ShortStringSize(Queue) + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteShort(0); // reserved-1 (ticket)
        encoder.WriteShortString(Queue);
        encoder.WriteBits(NoAck);
    }

    public static BasicGet DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        string queue = decoder.ReadShortString();
        byte bits = decoder.ReadOctet();
        return new BasicGet(queue, (bits & 1) != 0);
    }
}

/// <summary>basic.get-ok (60, 71), followed by a content header and body.</summary>
internal readonly record struct BasicGetOk(ulong DeliveryTag, bool Redelivered, string Exchange, string RoutingKey, uint MessageCount)
    : IAmqpMethod<BasicGetOk>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 71;
    public static bool HasContent => true;

    public int GetArgumentsSize() => 8 + 1 + AmqpEncoder.ShortStringSize(Exchange) + AmqpEncoder.ShortStringSize(RoutingKey) + 4;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLongLong(DeliveryTag);
        encoder.WriteBits(Redelivered);
        encoder.WriteShortString(Exchange);
        encoder.WriteShortString(RoutingKey);
        encoder.WriteLong(MessageCount);
    }

    public static BasicGetOk DecodeArguments(ref AmqpDecoder decoder)
    {
        ulong deliveryTag = decoder.ReadLongLong();
        byte bits = decoder.ReadOctet();
        string exchange = decoder.ReadShortString();
        string routingKey = decoder.ReadShortString();
        uint messageCount = decoder.ReadLong();
        return new BasicGetOk(deliveryTag, (bits & 1) != 0, exchange, routingKey, messageCount);
    }
}

/// <summary>basic.get-empty (60, 72).</summary>
internal readonly record struct BasicGetEmpty : IAmqpMethod<BasicGetEmpty>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 72;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteOctet(0); // reserved-1 (cluster-id): empty short string

    public static BasicGetEmpty DecodeArguments(ref AmqpDecoder decoder)
    {
        decoder.ReadShortStringBytes();
        return default;
    }
}

/// <summary>basic.ack (60, 80), either direction (the broker sends it for publisher confirms).</summary>
internal readonly record struct BasicAck(ulong DeliveryTag, bool Multiple) : IAmqpMethod<BasicAck>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 80;

    public int GetArgumentsSize() => 8 + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLongLong(DeliveryTag);
        encoder.WriteBits(Multiple);
    }

    public static BasicAck DecodeArguments(ref AmqpDecoder decoder)
    {
        ulong deliveryTag = decoder.ReadLongLong();
        byte bits = decoder.ReadOctet();
        return new BasicAck(deliveryTag, (bits & 1) != 0);
    }
}

/// <summary>basic.reject (60, 90).</summary>
internal readonly record struct BasicReject(ulong DeliveryTag, bool Requeue) : IAmqpMethod<BasicReject>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 90;

    public int GetArgumentsSize() => 8 + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLongLong(DeliveryTag);
        encoder.WriteBits(Requeue);
    }

    public static BasicReject DecodeArguments(ref AmqpDecoder decoder)
    {
        ulong deliveryTag = decoder.ReadLongLong();
        byte bits = decoder.ReadOctet();
        return new BasicReject(deliveryTag, (bits & 1) != 0);
    }
}

/// <summary>basic.recover-async (60, 100): deprecated in the spec, still accepted by RabbitMQ.</summary>
internal readonly record struct BasicRecoverAsync(bool Requeue) : IAmqpMethod<BasicRecoverAsync>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 100;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteBits(Requeue);

    public static BasicRecoverAsync DecodeArguments(ref AmqpDecoder decoder) => new((decoder.ReadOctet() & 1) != 0);
}

/// <summary>basic.recover (60, 110).</summary>
internal readonly record struct BasicRecover(bool Requeue) : IAmqpMethod<BasicRecover>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 110;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteBits(Requeue);

    public static BasicRecover DecodeArguments(ref AmqpDecoder decoder) => new((decoder.ReadOctet() & 1) != 0);
}

/// <summary>basic.recover-ok (60, 111).</summary>
internal readonly record struct BasicRecoverOk : IAmqpMethod<BasicRecoverOk>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 111;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static BasicRecoverOk DecodeArguments(ref AmqpDecoder decoder) => default;
}

/// <summary>basic.nack (60, 120), RabbitMQ extension, either direction.</summary>
internal readonly record struct BasicNack(ulong DeliveryTag, bool Multiple, bool Requeue) : IAmqpMethod<BasicNack>
{
    public static ushort ClassId => 60;
    public static ushort MethodId => 120;

    public int GetArgumentsSize() => 8 + 1;

    public void EncodeArguments(ref AmqpEncoder encoder)
    {
        encoder.WriteLongLong(DeliveryTag);
        encoder.WriteBits(Multiple, Requeue);
    }

    public static BasicNack DecodeArguments(ref AmqpDecoder decoder)
    {
        ulong deliveryTag = decoder.ReadLongLong();
        byte bits = decoder.ReadOctet();
        return new BasicNack(deliveryTag, (bits & 1) != 0, (bits & 2) != 0);
    }
}
