using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Connection;

namespace Nucleon.Pipes.Tests.Integration.Observability;

/// <summary>
/// The <c>Nucleon.Pipes</c> meter against a real broker: a known workload shows up with exact counts and the
/// documented attributes, and the observable instruments follow a forced close and the reconnect after it.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class MetricsTests(BrokerFixture broker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_known_workload_is_counted_exactly_and_a_forced_close_counts_one_reconnect()
    {
        const int N = 40;
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var metrics = new MetricsRecorder();
        string name = BrokerConnectionInfo.UniqueName("nucleon-metrics");
        var options = AmqpConnectionOptions.Parse(BrokerConnectionInfo.Uri(broker, $"connection_name={name}")) with { MeterFactory = metrics.Factory };
        await using var conn = new AmqpConnection(options);
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.Reconnected += (_, e) =>
        {
            if (e.Generation == 2)
            {
                reconnected.TrySetResult();
            }
        };
        await conn.ConnectAsync(ct);
        string queue = BrokerConnectionInfo.UniqueName("nucleon-metrics-q");
        await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
        {
            await ch.QueueDeclareAsync(queue, exclusive: false, autoDelete: false, cancellationToken: ct);
        }

        try
        {
            await using (var pub = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
            {
                var pending = new Task[N];
                for (int i = 0; i < N; i++)
                {
                    pending[i] = pub.PublishAsync("", queue, new byte[10], cancellationToken: ct).AsTask();
                }

                await Task.WhenAll(pending);
            }

            var consumer = await conn.AllocateChannelAsync(cancellationToken: ct);
            int consumed = 0;
            await foreach (var m in consumer.ConsumeAsync(queue, new ConsumeOptions { Prefetch = 10 }, ct))
            {
                await m.AckAsync(cancellationToken: ct);
                if (++consumed == N)
                {
                    break;
                }
            }

            await consumer.DisposeAsync();

            var sent = metrics.Named("messaging.client.sent.messages").ToList();
            Assert.Equal(N, sent.Sum(r => r.Value));
            Assert.All(sent, r =>
            {
                Assert.Equal("rabbitmq", r.Tag("messaging.system"));
                Assert.Equal("amq.default", r.Tag("messaging.destination.name"));
                Assert.Equal("publish", r.Tag("messaging.operation.name"));
                Assert.Equal(conn.CurrentEndpoint!.Host, r.Tag("server.address"));
                Assert.Equal(conn.CurrentEndpoint!.Port, r.Tag("server.port"));
                Assert.Null(r.Tag("error.type"));
            });

            var received = metrics.Named("messaging.client.consumed.messages").ToList();
            Assert.Equal(N, received.Sum(r => r.Value));
            Assert.All(received, r => Assert.Equal(queue, r.Tag("messaging.destination.name")));

            var durations = metrics.Named("messaging.client.operation.duration").ToList();
            Assert.Equal(N, durations.Count(r => (string?)r.Tag("messaging.operation.name") == "publish"));
            Assert.Equal(N, durations.Count(r => (string?)r.Tag("messaging.operation.name") == "ack" && (string?)r.Tag("messaging.destination.name") == queue));
            Assert.All(durations, r => Assert.True(r.Value >= 0));
            Assert.Equal(N, metrics.Named("messaging.process.duration").Count());

            var before = metrics.Observe();
            Assert.Equal(1, Single(before, "nucleon.pipes.connections"));
            Assert.Equal(0, Single(before, "nucleon.pipes.reconnects"));
            Assert.Equal(1, Single(before, "nucleon.pipes.connection.generation"));
            Assert.Equal(0, Single(before, "nucleon.pipes.connections.blocked"));
            Assert.Equal(0, Single(before, "nucleon.pipes.publish.confirms.outstanding"));
            double sentBytes = Single(before, "nucleon.pipes.bytes.sent");
            double receivedBytes = Single(before, "nucleon.pipes.bytes.received");
            // Each publish is at least its method, header and 10-byte body frames; each delivery likewise.
            Assert.True(sentBytes > N * 50, $"bytes sent {sentBytes}");
            Assert.True(receivedBytes > N * 50, $"bytes received {receivedBytes}");

            var info = await BrokerConnectionInfo.FindAsync(broker, name);
            await broker.CloseConnectionAsync(await info.ToBrokerConnectionAsync(broker), "nucleon test: metrics forced close");
            await reconnected.Task.WaitAsync(ct);

            var after = metrics.Observe();
            Assert.Equal(1, Single(after, "nucleon.pipes.reconnects"));
            Assert.Equal(2, Single(after, "nucleon.pipes.connection.generation"));
            Assert.Equal(1, Single(after, "nucleon.pipes.connections"));
            // Byte counters run on across generations (an ObservableCounter must never go down).
            Assert.True(Single(after, "nucleon.pipes.bytes.sent") >= sentBytes);
            Assert.True(Single(after, "nucleon.pipes.bytes.received") >= receivedBytes);
        }
        finally
        {
            await using var ch = await conn.RentChannelAsync(cancellationToken: ct);
            await ch.QueueDeleteAsync(queue, cancellationToken: ct);
        }

        await conn.CloseAsync(ct);
        var closed = metrics.Observe();
        Assert.DoesNotContain(closed, r => r.Name == "nucleon.pipes.connection.generation");
        // A closed connection's reconnects stay counted.
        Assert.Equal(1, Single(closed, "nucleon.pipes.reconnects"));
        Assert.Equal(0, Single(closed, "nucleon.pipes.connections"));
    }

    [Fact]
    public async Task Nacked_and_returned_publishes_are_counted_with_error_type_and_the_consumer_inbox_depth_is_observed()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var metrics = new MetricsRecorder();
        var options = AmqpConnectionOptions.Parse(broker.AmqpUri) with { MeterFactory = metrics.Factory };
        await using var conn = new AmqpConnection(options);
        await conn.ConnectAsync(ct);
        string queue = BrokerConnectionInfo.UniqueName("nucleon-metrics-inbox");

        await using (var pub = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
        {
            await Assert.ThrowsAsync<AmqpMessageReturnedException>(async () =>
                await pub.PublishAsync("amq.direct", "nobody-binds-this-" + queue, new byte[1], mandatory: true, cancellationToken: ct));
        }

        // A full queue that rejects publishes: RabbitMQ nacks them.
        string full = queue + "-full";
        await using (var declaring = await conn.AllocateChannelAsync(cancellationToken: ct))
        {
            await declaring.QueueDeclareAsync(full, exclusive: true,
                arguments: new Dictionary<string, object?> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" }, cancellationToken: ct);
            await using var pub = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct);
            await Assert.ThrowsAsync<AmqpPublishNackedException>(async () => await pub.PublishAsync("", full, new byte[1], cancellationToken: ct));
            Assert.Equal(1, Assert.Single(metrics.Named("nucleon.pipes.publish.nacks")).Value);
            Assert.Equal(typeof(AmqpPublishNackedException).FullName,
                Assert.Single(metrics.Named("messaging.client.sent.messages"), r => (string?)r.Tag("messaging.destination.name") == "amq.default").Tag("error.type"));
        }

        var returned = Assert.Single(metrics.Named("nucleon.pipes.publish.returns"));
        Assert.Equal("amq.direct", returned.Tag("messaging.destination.name"));
        var failed = Assert.Single(metrics.Named("messaging.client.sent.messages"), r => (string?)r.Tag("messaging.destination.name") == "amq.direct");
        Assert.Equal(typeof(AmqpMessageReturnedException).FullName, failed.Tag("error.type"));
        Assert.Equal(typeof(AmqpMessageReturnedException).FullName,
            Assert.Single(metrics.Named("messaging.client.operation.duration"), r => (string?)r.Tag("messaging.destination.name") == "amq.direct").Tag("error.type"));

        // Five messages in the queue, a consumer with prefetch 5 that has read none: its inbox fills to 5.
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: ct);
        await ch.QueueDeclareAsync(queue, exclusive: true, cancellationToken: ct);
        for (int i = 0; i < 5; i++)
        {
            await ch.PublishAsync("", queue, new byte[1], cancellationToken: ct);
        }

        await using var enumerator = ch.ConsumeAsync(queue, new ConsumeOptions { Prefetch = 5 }, ct).GetAsyncEnumerator(ct);
        Assert.True(await enumerator.MoveNextAsync());
        await enumerator.Current.AckAsync(cancellationToken: ct);
        double depth = -1;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (depth != 4 && DateTime.UtcNow < deadline)
        {
            depth = metrics.Observe().Where(r => r.Name == "nucleon.pipes.consumer.inbox.depth" && (string?)r.Tag("messaging.destination.name") == queue)
                .Select(r => r.Value).DefaultIfEmpty(-1).Single();
            await Task.Delay(50, ct);
        }

        Assert.Equal(4, depth);
        Assert.True(Single(metrics.Observe(), "nucleon.pipes.channels") >= 1);
    }

    private static double Single(IReadOnlyList<MetricsRecorder.Recorded> observed, string name) =>
        Assert.Single(observed, r => r.Name == name).Value;
}
