using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

[Collection(BrokerCollection.Name)]
public sealed class PropertiesTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    private static ReadOnlySpan<byte> Bytes => [0, 1, 2, 0xFF, 0xFE];

    private async Task<Message> RoundTripAsync(BasicProperties properties, string body = "props")
    {
        var q = await DeclareQueueAsync();
        await PublishConfirmedAsync("", q, body, properties);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var m = await ch.GetAsync(q, autoAck: true, cancellationToken: Ct);
        Assert.NotNull(m);
        Assert.Equal(body, Text(m.Value));
        return m.Value;
    }

    [Fact]
    public async Task All_fourteen_properties_round_trip_through_the_broker()
    {
        var sent = new BasicProperties
        {
            ContentType = "application/json",
            ContentEncoding = "gzip",
            Headers = new Dictionary<string, object?> { ["k"] = "v" },
            DeliveryMode = DeliveryMode.Persistent,
            Priority = 7,
            CorrelationId = "corr-1",
            ReplyTo = "reply.queue",
            Expiration = "600000",
            MessageId = "msg-1",
            Timestamp = new AmqpTimestamp(1_700_000_123),
            Type = "order.created",
            UserId = Conn.Options.UserName, // RabbitMQ refuses a user-id other than the connection's user
            AppId = "nucleon-tests",
            ClusterId = "cluster-7",
        };

        var got = (await RoundTripAsync(sent)).Properties;
        Assert.Equal("application/json", got.ContentType);
        Assert.Equal("gzip", got.ContentEncoding);
        Assert.Equal("v", Assert.Single(got.Headers!).Value);
        Assert.Equal(DeliveryMode.Persistent, got.DeliveryMode);
        Assert.Equal((byte)7, got.Priority);
        Assert.Equal("corr-1", got.CorrelationId);
        Assert.Equal("reply.queue", got.ReplyTo);
        Assert.Equal("600000", got.Expiration);
        Assert.Equal("msg-1", got.MessageId);
        Assert.Equal(new AmqpTimestamp(1_700_000_123), got.Timestamp);
        Assert.Equal("order.created", got.Type);
        Assert.Equal(Conn.Options.UserName, got.UserId);
        Assert.Equal("nucleon-tests", got.AppId);
        Assert.Equal("cluster-7", got.ClusterId);
    }

    [Fact]
    public async Task Zero_and_empty_values_stay_present_and_absent_stays_absent()
    {
        var sent = new BasicProperties
        {
            ContentType = "",
            ContentEncoding = "",
            Headers = new Dictionary<string, object?>(),
            DeliveryMode = DeliveryMode.Transient,
            Priority = 0,
            CorrelationId = "",
            ReplyTo = "",
            MessageId = "",
            Timestamp = new AmqpTimestamp(0),
            Type = "",
            AppId = "",
            ClusterId = "",
        };

        var got = (await RoundTripAsync(sent)).Properties;
        Assert.Equal("", got.ContentType);
        Assert.Equal("", got.ContentEncoding);
        Assert.NotNull(got.Headers);
        Assert.Empty(got.Headers);
        Assert.Equal(DeliveryMode.Transient, got.DeliveryMode);
        Assert.Equal((byte)0, got.Priority);
        Assert.Equal("", got.CorrelationId);
        Assert.Equal("", got.ReplyTo);
        Assert.Equal("", got.MessageId);
        Assert.Equal(new AmqpTimestamp(0), got.Timestamp);
        Assert.Equal("", got.Type);
        Assert.Equal("", got.AppId);
        Assert.Equal("", got.ClusterId);
        // Not sent: absent.
        Assert.Null(got.Expiration);
        Assert.Null(got.UserId);

        var none = (await RoundTripAsync(BasicProperties.Empty, "bare")).Properties;
        Assert.True(none.IsEmpty, $"expected no properties, got {none}");
    }

    [Fact]
    public async Task Empty_expiration_and_a_foreign_user_id_are_refused_by_the_broker()
    {
        var q = await DeclareQueueAsync();
        await using (var ch = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct))
        {
            // RabbitMQ validates user-id against the authenticated user: 406 PRECONDITION_FAILED.
            var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.PublishAsync("", q, Utf8("x"), new BasicProperties { UserId = "someone-else" }, cancellationToken: Ct).AsTask());
            Assert.Equal(406, ex.ReplyCode);
            Assert.Contains("user_id", ex.ReplyText, StringComparison.Ordinal);
        }

        await using (var ch = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct))
        {
            // Expiration must be a non-negative integer string; "" is a 406 as well.
            var ex = await Assert.ThrowsAsync<AmqpChannelException>(() => ch.PublishAsync("", q, Utf8("x"), new BasicProperties { Expiration = "" }, cancellationToken: Ct).AsTask());
            Assert.Equal(406, ex.ReplyCode);
        }

        Assert.True(Conn.IsConnected);
        Assert.Equal(0u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Every_header_field_type_round_trips_through_the_broker()
    {
        var headers = AllTypes();
        var got = (await RoundTripAsync(new BasicProperties { Headers = headers })).Properties.Headers!;
        Assert.Equal(headers.Count, got.Count);
        AssertAllTypes(got);
    }

    [Fact]
    public async Task Every_header_field_type_survives_dead_lettering_where_the_broker_re_encodes_the_table()
    {
        // Dead-lettering makes RabbitMQ decode the headers, add x-death and encode them again, so
        // this shows what the broker's own field-table codec does to each type.
        var target = await DeclareQueueAsync(what: "dlx-target");
        var source = await DeclareQueueAsync(new Dictionary<string, object?>
        {
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = target,
        }, what: "dlx-source");
        var headers = AllTypes();
        await PublishConfirmedAsync("", source, "dead", new BasicProperties { Headers = headers });
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var m = await ch.GetAsync(source, cancellationToken: Ct);
        await ch.BasicRejectAsync(m!.Value.DeliveryTag, requeue: false, cancellationToken: Ct);

        Message? dead = null;
        await foreach (var d in ch.ConsumeAsync(target, new ConsumeOptions { AutoAck = true }, Ct))
        {
            dead = d.Detach();
            break;
        }

        var got = dead!.Value.Properties.Headers!;
        var xDeath = Assert.IsType<List<object?>>(got["x-death"]);
        Assert.Equal("rejected", Assert.IsType<Dictionary<string, object?>>(Assert.Single(xDeath))["reason"]);
        // RabbitMQ adds x-death and the three x-first-death-* headers.
        Assert.Equal("rejected", got["x-first-death-reason"]);
        Assert.Equal(source, got["x-first-death-queue"]);
        Assert.Equal("", got["x-first-death-exchange"]);
        Assert.Equal(headers.Count + 4, got.Count);
        // RabbitMQ 3.10 re-encodes the table with its keys sorted but keeps every value's tag,
        // including 'u' (ushort), 'i' (uint), 'b'/'B' and 'D': nothing is normalised. Its own
        // x-death count is a long ('l').
        Assert.Equal(1L, Assert.IsType<long>(((Dictionary<string, object?>)xDeath[0]!)["count"]));
        AssertAllTypes(got);
    }

    private static Dictionary<string, object?> AllTypes()
    {
        var nested = new Dictionary<string, object?> { ["inner"] = 42, ["deeper"] = new Dictionary<string, object?> { ["s"] = "x" } };
        return new Dictionary<string, object?>
        {
            ["bool-true"] = true,
            ["bool-false"] = false,
            ["sbyte"] = (sbyte)-5,
            ["byte"] = (byte)250,
            ["short"] = (short)-30000,
            ["ushort"] = (ushort)65000,
            ["int"] = -2_000_000_000,
            ["uint"] = 4_000_000_000u,
            ["long"] = -9_000_000_000_000_000_000L,
            ["ulong"] = 5UL,
            ["datetime"] = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_001_999),
            ["float"] = 1.5f,
            ["double"] = -2.25e300,
            ["decimal"] = 123.456m,
            ["decimal-negative"] = -0.5m,
            ["timestamp"] = new AmqpTimestamp(1_700_000_000),
            ["string"] = "héllo wörld",
            ["empty-string"] = "",
            ["bytes"] = Bytes.ToArray(),
            ["table"] = nested,
            ["empty-table"] = new Dictionary<string, object?>(),
            ["array"] = new List<object?> { 1, "two", 3.0, null, new List<object?> { "nested", new List<object?>() }, new Dictionary<string, object?> { ["t"] = true } },
            ["empty-array"] = new List<object?>(),
            ["void"] = null,
        };
    }

    private static void AssertAllTypes(IDictionary<string, object?> got)
    {
        Assert.Equal(true, got["bool-true"]);
        Assert.Equal(false, got["bool-false"]);
        Assert.Equal((sbyte)-5, Assert.IsType<sbyte>(got["sbyte"]));
        Assert.Equal((byte)250, Assert.IsType<byte>(got["byte"]));
        Assert.Equal((short)-30000, Assert.IsType<short>(got["short"]));
        Assert.Equal((ushort)65000, Assert.IsType<ushort>(got["ushort"])); // 'u': RabbitMQ 3.10 accepts and keeps it
        Assert.Equal(5L, Assert.IsType<long>(got["ulong"])); // the client writes a ulong as 'l' (no unsigned 64-bit tag)
        Assert.Equal(new AmqpTimestamp(1_700_000_001), Assert.IsType<AmqpTimestamp>(got["datetime"])); // 'T', whole seconds
        Assert.Equal(-2_000_000_000, Assert.IsType<int>(got["int"]));
        Assert.Equal(4_000_000_000u, Assert.IsType<uint>(got["uint"]));
        Assert.Equal(-9_000_000_000_000_000_000L, Assert.IsType<long>(got["long"]));
        Assert.Equal(1.5f, Assert.IsType<float>(got["float"]));
        Assert.Equal(-2.25e300, Assert.IsType<double>(got["double"]));
        Assert.Equal(123.456m, Assert.IsType<decimal>(got["decimal"]));
        Assert.Equal(-0.5m, Assert.IsType<decimal>(got["decimal-negative"]));
        Assert.Equal(new AmqpTimestamp(1_700_000_000), Assert.IsType<AmqpTimestamp>(got["timestamp"]));
        Assert.Equal("héllo wörld", Assert.IsType<string>(got["string"]));
        Assert.Equal("", Assert.IsType<string>(got["empty-string"]));
        Assert.Equal(Bytes.ToArray(), Assert.IsType<byte[]>(got["bytes"]));

        var table = Assert.IsType<Dictionary<string, object?>>(got["table"]);
        Assert.Equal(42, table["inner"]);
        Assert.Equal("x", Assert.IsType<Dictionary<string, object?>>(table["deeper"])["s"]);
        Assert.Empty(Assert.IsType<Dictionary<string, object?>>(got["empty-table"]));

        var array = Assert.IsType<List<object?>>(got["array"]);
        Assert.Equal(6, array.Count);
        Assert.Equal(1, array[0]);
        Assert.Equal("two", array[1]);
        Assert.Equal(3.0, array[2]);
        Assert.Null(array[3]);
        var inner = Assert.IsType<List<object?>>(array[4]);
        Assert.Equal("nested", inner[0]);
        Assert.Empty(Assert.IsType<List<object?>>(inner[1]));
        Assert.Equal(true, Assert.IsType<Dictionary<string, object?>>(array[5])["t"]);
        Assert.Empty(Assert.IsType<List<object?>>(got["empty-array"]));

        Assert.True(got.ContainsKey("void"));
        Assert.Null(got["void"]);
    }

    [Fact]
    public async Task Consecutive_messages_with_the_same_properties_share_one_decoded_object_and_headers_are_never_shared()
    {
        var q = await DeclareQueueAsync();
        var json = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryMode.Persistent };
        var other = json with { ContentType = "text/plain" };
        var withHeaders = json with { Headers = new Dictionary<string, object?> { ["k"] = "v" } };
        BasicProperties[] sent = [json, json, json, other, json, withHeaders, withHeaders, json];
        foreach (var p in sent)
        {
            await PublishConfirmedAsync("", q, "m", p);
        }

        var got = new List<BasicProperties>();
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await foreach (var m in ch.ConsumeAsync(q, new ConsumeOptions { AutoAck = true }, Ct))
        {
            got.Add(m.Properties);
            if (got.Count == sent.Length)
            {
                break;
            }
        }

        for (int i = 0; i < sent.Length; i++)
        {
            Assert.Equal(sent[i].ContentType, got[i].ContentType);
            Assert.Equal(DeliveryMode.Persistent, got[i].DeliveryMode);
            Assert.Equal(sent[i].Headers is null, got[i].Headers is null);
        }

        // The same bytes as the message before: the same object (nothing decoded, nothing allocated).
        Assert.Same(got[0], got[1]);
        Assert.Same(got[1], got[2]);
        Assert.NotSame(got[2], got[3]);
        Assert.NotSame(got[3], got[4]);

        // Headers are a dictionary a consumer may change: each message gets its own.
        Assert.NotSame(got[5], got[6]);
        got[5].Headers!["k"] = "changed";
        Assert.Equal("v", got[6].Headers!["k"]);
    }
}
