using System.Text;
using Nucleon.Pipes.Tests.Infrastructure;
using Rmq = RabbitMQ.Client;
using RmqEvents = RabbitMQ.Client.Events;

namespace Nucleon.Pipes.Tests.Integration.Interop;

/// <summary>
/// Messages cross between RabbitMQ.Client 7 and Nucleon.Pipes through a real broker with every basic
/// property and headers of many field types intact. RabbitMQ.Client writes strings and byte[] as 'S'
/// and decodes 'S' as byte[]; it uses 'x' only for <see cref="Rmq.BinaryTableValue"/>.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class RabbitMqClientInteropTests(BrokerFixture broker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const long Timestamp = 1_700_000_000;
    private const long HeaderTimestamp = 1_600_000_123;

    [Fact]
    public async Task RabbitMQ_Client_publishes_and_Nucleon_consumes_everything_intact()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string queue = "nucleon-interop-in-" + Guid.NewGuid().ToString("N");
        byte[] body = Encoding.UTF8.GetBytes("{\"from\":\"RabbitMQ.Client\",\"ü\":\"ß€\"}");
        byte[] binary = [0x00, 0xFF, 0x10, 0x80];

        var factory = new Rmq.ConnectionFactory { Uri = new Uri(broker.AmqpUri) };
        await using var rmqConnection = await factory.CreateConnectionAsync(ct);
        await using var rmqChannel = await rmqConnection.CreateChannelAsync(
            new Rmq.CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct);
        await rmqChannel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false, cancellationToken: ct);
        try
        {
            var props = new Rmq.BasicProperties
            {
                ContentType = "application/json",
                ContentEncoding = "identity",
                DeliveryMode = Rmq.DeliveryModes.Persistent,
                Priority = 7,
                CorrelationId = "corr-42",
                ReplyTo = "reply-queue",
                Expiration = "600000",
                MessageId = "msg-from-rmq",
                Timestamp = new Rmq.AmqpTimestamp(Timestamp),
                Type = "order.created",
                UserId = "guest",
                AppId = "rabbitmq-client-interop",
                ClusterId = "cluster-7",
                Headers = new Dictionary<string, object?>
                {
                    ["string"] = "héllo wörld",
                    ["bytes-as-S"] = Encoding.UTF8.GetBytes("raw"),
                    ["binary-x"] = new Rmq.BinaryTableValue(binary),
                    ["bool"] = true,
                    ["sbyte"] = (sbyte)-5,
                    ["byte"] = (byte)200,
                    ["short"] = (short)-1234,
                    ["int"] = -42,
                    ["uint"] = 4_000_000_000u,
                    ["long"] = -(1L << 40),
                    ["float"] = 1.5f,
                    ["double"] = 3.25,
                    ["decimal"] = 12.345m,
                    ["timestamp"] = new Rmq.AmqpTimestamp(HeaderTimestamp),
                    ["null"] = null,
                    ["table"] = new Dictionary<string, object?> { ["inner"] = "v", ["n"] = 1 },
                    ["array"] = new List<object?> { 1, "two", true },
                },
            };
            await rmqChannel.BasicPublishAsync("", queue, mandatory: true, basicProperties: props, body: body, cancellationToken: ct);

            await using var conn = new AmqpConnection(broker.AmqpUri);
            await conn.ConnectAsync(ct);
            await using var ch = await conn.AllocateChannelAsync(cancellationToken: ct);
            Message received = default;
            await foreach (var m in ch.ConsumeAsync(queue, new ConsumeOptions { Prefetch = 1 }, ct))
            {
                received = m.Detach();
                await m.AckAsync(cancellationToken: ct);
                break;
            }

            Assert.Equal(body, received.Body.ToArray());
            Assert.Equal("", received.Exchange);
            Assert.Equal(queue, received.RoutingKey);
            var p = received.Properties;
            Assert.Equal("application/json", p.ContentType);
            Assert.Equal("identity", p.ContentEncoding);
            Assert.Equal(DeliveryMode.Persistent, p.DeliveryMode);
            Assert.Equal((byte)7, p.Priority);
            Assert.Equal("corr-42", p.CorrelationId);
            Assert.Equal("reply-queue", p.ReplyTo);
            Assert.Equal("600000", p.Expiration);
            Assert.Equal("msg-from-rmq", p.MessageId);
            Assert.Equal(new AmqpTimestamp(Timestamp), p.Timestamp);
            Assert.Equal("order.created", p.Type);
            Assert.Equal("guest", p.UserId);
            Assert.Equal("rabbitmq-client-interop", p.AppId);
            Assert.Equal("cluster-7", p.ClusterId);

            var h = Assert.IsAssignableFrom<IDictionary<string, object?>>(p.Headers);
            // RabbitMQ.Client's confirmation tracking adds its own sequence-number header.
            Assert.Equal(17, h.Keys.Count(k => k != "x-dotnet-pub-seq-no"));
            Assert.Equal("héllo wörld", h["string"]); // 'S' with valid UTF-8 decodes to a string
            Assert.Equal("raw", h["bytes-as-S"]);
            Assert.Equal(binary, Assert.IsType<byte[]>(h["binary-x"]));
            Assert.Equal(true, h["bool"]);
            Assert.Equal((sbyte)-5, h["sbyte"]);
            Assert.Equal((byte)200, h["byte"]);
            Assert.Equal((short)-1234, h["short"]);
            Assert.Equal(-42, h["int"]);
            Assert.Equal(4_000_000_000u, h["uint"]);
            Assert.Equal(-(1L << 40), h["long"]);
            Assert.Equal(1.5f, h["float"]);
            Assert.Equal(3.25, h["double"]);
            Assert.Equal(12.345m, h["decimal"]);
            Assert.Equal(new AmqpTimestamp(HeaderTimestamp), h["timestamp"]);
            Assert.True(h.ContainsKey("null"));
            Assert.Null(h["null"]);
            var table = Assert.IsAssignableFrom<IDictionary<string, object?>>(h["table"]);
            Assert.Equal("v", table["inner"]);
            Assert.Equal(1, table["n"]);
            var array = Assert.IsAssignableFrom<IList<object?>>(h["array"]);
            Assert.Equal([1, "two", true], array);
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await rmqChannel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: cleanup.Token);
        }
    }

    [Fact]
    public async Task Nucleon_publishes_and_RabbitMQ_Client_receives_everything_intact()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string queue = "nucleon-interop-out-" + Guid.NewGuid().ToString("N");
        byte[] body = new byte[300_000]; // several frames
        new Random(7).NextBytes(body);
        byte[] binary = [0xDE, 0xAD, 0xBE, 0xEF, 0x00];

        var factory = new Rmq.ConnectionFactory { Uri = new Uri(broker.AmqpUri) };
        await using var rmqConnection = await factory.CreateConnectionAsync(ct);
        await using var rmqChannel = await rmqConnection.CreateChannelAsync(cancellationToken: ct);
        await rmqChannel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false, cancellationToken: ct);
        try
        {
            var received = new TaskCompletionSource<(byte[] Body, Rmq.IReadOnlyBasicProperties Props, string RoutingKey)>(TaskCreationOptions.RunContinuationsAsynchronously);
            var consumer = new RmqEvents.AsyncEventingBasicConsumer(rmqChannel);
            consumer.ReceivedAsync += (_, ea) =>
            {
                received.TrySetResult((ea.Body.ToArray(), ea.BasicProperties, ea.RoutingKey));
                return Task.CompletedTask;
            };
            string tag = await rmqChannel.BasicConsumeAsync(queue, autoAck: true, consumerTag: "", noLocal: false, exclusive: false, arguments: null, consumer: consumer, cancellationToken: ct);

            await using (var conn = new AmqpConnection(broker.AmqpUri))
            {
                await conn.ConnectAsync(ct);
                await using var ch = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct);
                var props = new BasicProperties
                {
                    ContentType = "application/octet-stream",
                    ContentEncoding = "binary",
                    DeliveryMode = DeliveryMode.Transient,
                    Priority = 3,
                    CorrelationId = "corr-from-nucleon",
                    ReplyTo = "amq.rabbitmq.reply-to-ish",
                    Expiration = "120000",
                    MessageId = "msg-from-nucleon",
                    Timestamp = new AmqpTimestamp(Timestamp),
                    Type = "blob",
                    UserId = "guest",
                    AppId = "nucleon-interop",
                    ClusterId = "cluster-9",
                    Headers = new Dictionary<string, object?>
                    {
                        ["string"] = "grüße",
                        ["binary"] = binary,
                        ["bool"] = false,
                        ["sbyte"] = (sbyte)-100,
                        ["byte"] = (byte)255,
                        ["short"] = short.MinValue,
                        ["int"] = int.MaxValue,
                        ["uint"] = 123_456u,
                        ["long"] = long.MinValue,
                        ["float"] = -0.25f,
                        ["double"] = Math.PI,
                        // Positive only: negative decimals differ on the wire (RabbitMQ.Client: sign and magnitude;
                        // Nucleon, like the Java, Go and pika clients: two's complement mantissa).
                        ["decimal"] = 7.5m,
                        ["timestamp"] = new AmqpTimestamp(HeaderTimestamp),
                        ["null"] = null,
                        ["table"] = new Dictionary<string, object?> { ["k"] = "v", ["deep"] = new Dictionary<string, object?> { ["x"] = 2L } },
                        ["array"] = new object?[] { "a", 2, null },
                    },
                };
                await ch.PublishAsync("", queue, body, props, mandatory: true, cancellationToken: ct);
            }

            var (gotBody, p, routingKey) = await received.Task.WaitAsync(ct);
            await rmqChannel.BasicCancelAsync(tag, cancellationToken: ct);

            Assert.Equal(body, gotBody);
            Assert.Equal(queue, routingKey);
            Assert.Equal("application/octet-stream", p.ContentType);
            Assert.Equal("binary", p.ContentEncoding);
            Assert.Equal(Rmq.DeliveryModes.Transient, p.DeliveryMode);
            Assert.Equal((byte)3, p.Priority);
            Assert.Equal("corr-from-nucleon", p.CorrelationId);
            Assert.Equal("amq.rabbitmq.reply-to-ish", p.ReplyTo);
            Assert.Equal("120000", p.Expiration);
            Assert.Equal("msg-from-nucleon", p.MessageId);
            Assert.Equal(Timestamp, p.Timestamp.UnixTime);
            Assert.Equal("blob", p.Type);
            Assert.Equal("guest", p.UserId);
            Assert.Equal("nucleon-interop", p.AppId);
            Assert.Equal("cluster-9", p.ClusterId);

            var h = Assert.IsAssignableFrom<IDictionary<string, object?>>(p.Headers);
            Assert.Equal(16, h.Count);
            Assert.Equal("grüße", Encoding.UTF8.GetString(Assert.IsType<byte[]>(h["string"]))); // 'S' decodes to byte[]
            Assert.Equal(binary, Assert.IsType<Rmq.BinaryTableValue>(h["binary"]).Bytes); // 'x'
            Assert.Equal(false, h["bool"]);
            Assert.Equal((sbyte)-100, h["sbyte"]);
            Assert.Equal((byte)255, h["byte"]);
            Assert.Equal(short.MinValue, h["short"]);
            Assert.Equal(int.MaxValue, h["int"]);
            Assert.Equal(123_456u, h["uint"]);
            Assert.Equal(long.MinValue, h["long"]);
            Assert.Equal(-0.25f, h["float"]);
            Assert.Equal(Math.PI, h["double"]);
            Assert.Equal(7.5m, h["decimal"]);
            Assert.Equal(HeaderTimestamp, Assert.IsType<Rmq.AmqpTimestamp>(h["timestamp"]).UnixTime);
            Assert.True(h.ContainsKey("null"));
            Assert.Null(h["null"]);
            var table = Assert.IsAssignableFrom<IDictionary<string, object?>>(h["table"]);
            Assert.Equal("v", Encoding.UTF8.GetString(Assert.IsType<byte[]>(table["k"])));
            var deep = Assert.IsAssignableFrom<IDictionary<string, object?>>(table["deep"]);
            Assert.Equal(2L, deep["x"]);
            var array = Assert.IsAssignableFrom<IList<object?>>(h["array"]);
            Assert.Equal(3, array.Count);
            Assert.Equal("a", Encoding.UTF8.GetString(Assert.IsType<byte[]>(array[0])));
            Assert.Equal(2, array[1]);
            Assert.Null(array[2]);
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await rmqChannel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: cleanup.Token);
        }
    }
}
