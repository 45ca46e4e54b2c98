using System.Buffers.Binary;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>
/// Messages that are valid AMQP 0-9-1 but hold header values .NET's types cannot hold exactly, published
/// byte for byte by <see cref="RawAmqpPublisher"/> through the real broker: each reaches the application
/// (in a lossless form where .NET's types fall short) and the connection stays up.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class PoisonMessageTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    private static byte[] Decimal(byte scale, int mantissa)
    {
        byte[] value = new byte[6];
        value[0] = (byte)'D';
        value[1] = scale;
        BinaryPrimitives.WriteInt32BigEndian(value.AsSpan(2), mantissa);
        return value;
    }

    // {"a": {"a": ... {}}} with `levels` tables below the key, as a tagged value.
    private static byte[] NestedTables(int levels)
    {
        var bytes = new List<byte> { (byte)'F' };
        for (int i = 0; i < levels - 1; i++)
        {
            uint length = (uint)(7 * (levels - 1 - i));
            bytes.AddRange([(byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length, 1, (byte)'a', (byte)'F']);
        }

        bytes.AddRange([0, 0, 0, 0]);
        return [.. bytes];
    }

    [Fact]
    public async Task Unusual_header_values_reach_a_connection_level_consumer_and_the_connection_stays_up()
    {
        var q = await DeclareQueueAsync();
        await using (var raw = await RawAmqpPublisher.ConnectAsync(Broker.AmqpUri, Ct))
        {
            await raw.PublishAsync("", q, RawAmqpPublisher.HeadersFlag, RawAmqpPublisher.HeadersWith("price", Decimal(255, -15)), Utf8("decimal"), Ct);
            await raw.PublishAsync("", q, RawAmqpPublisher.HeadersFlag, RawAmqpPublisher.HeadersWith("tiny", Decimal(29, int.MaxValue)), Utf8("decimal 29"), Ct);
            await raw.PublishAsync("", q, RawAmqpPublisher.HeadersFlag, RawAmqpPublisher.HeadersWith("deep", NestedTables(100)), Utf8("deep"), Ct);
            byte[] badKey = [0, 0, 0, 3, 1, 0xFF, (byte)'V'];
            await raw.PublishAsync("", q, RawAmqpPublisher.HeadersFlag, badKey, Utf8("bad key"), Ct);
            const ushort messageIdFlag = 1 << 7;
            await raw.PublishAsync("", q, messageIdFlag, [2, 0xC3, 0x28], Utf8("bad message-id"), Ct); // C3 28: a lead byte, then no continuation
        }

        await PublishConfirmedAsync("", q, "plain");
        var conn = await ConnectAsync();
        var received = new List<(string Body, IDictionary<string, object?>? Headers, string? MessageId)>();
        await foreach (var m in conn.ConsumeAsync(q, cancellationToken: Ct))
        {
            received.Add((Text(m), m.Properties.Headers, m.Properties.MessageId));
            await m.AckAsync(cancellationToken: Ct);
            if (received.Count == 6)
            {
                break;
            }
        }

        Assert.Equal(["decimal", "decimal 29", "deep", "bad key", "bad message-id", "plain"], received.Select(r => r.Body));
        Assert.Equal("\uFFFD(", received[4].MessageId);
        Assert.Equal(new AmqpDecimal(255, -15), received[0].Headers!["price"]);
        var tiny = Assert.IsType<AmqpDecimal>(received[1].Headers!["tiny"]);
        Assert.Equal("0.00000000000000000002147483647", tiny.ToString());
        object? level = received[2].Headers!["deep"];
        int depth = 0;
        while (level is IDictionary<string, object?> table)
        {
            level = table["a"];
            depth++;
        }

        Assert.Equal((byte)'F', Assert.IsType<AmqpRawFieldValue>(level).Tag);
        Assert.True(depth > 10);
        Assert.Equal("\uFFFD", Assert.Single(received[3].Headers!).Key);
        Assert.True(conn.IsConnected);
        Assert.Equal(1, conn.Generation);

        // Lossless: the decoded values publish back to the same bytes, and decode to equal values again.
        await PublishConfirmedAsync("", q, "again", new BasicProperties { Headers = new Dictionary<string, object?> { ["price"] = received[0].Headers!["price"], ["deep"] = received[2].Headers!["deep"] } });
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var again = (await ch.GetAsync(q, autoAck: true, cancellationToken: Ct))!.Value;
        Assert.Equal(new AmqpDecimal(255, -15), again.Properties.Headers!["price"]);
        Assert.IsType<Dictionary<string, object?>>(again.Properties.Headers!["deep"]);
    }
}
