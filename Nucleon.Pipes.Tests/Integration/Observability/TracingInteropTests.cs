using System.Diagnostics;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Connection;
using Rmq = RabbitMQ.Client;
using RmqEvents = RabbitMQ.Client.Events;

namespace Nucleon.Pipes.Tests.Integration.Observability;

/// <summary>
/// Trace context crosses between RabbitMQ.Client 7's own instrumentation (sources <c>RabbitMQ.Client.Publisher</c>
/// and <c>RabbitMQ.Client.Subscriber</c>) and Nucleon.Pipes through a real broker, in both directions.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class TracingInteropTests(BrokerFixture broker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_RabbitMQ_Client_publish_is_the_parent_of_the_Nucleon_process_span()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var recorder = new ActivityRecorder("Nucleon.Pipes", "RabbitMQ.Client.Publisher", "RabbitMQ.Client.Subscriber");
        string queue = BrokerConnectionInfo.UniqueName("nucleon-trace-rmq-in");
        var (rmqConnection, rmqChannel) = await OpenRabbitAsync(queue, exclusive: false, ct);
        await using var rmqConnectionScope = rmqConnection;
        await using var rmqChannelScope = rmqChannel;

        ActivityTraceId trace;
        using (var root = ActivityRecorder.TestSource.StartActivity("test root")!)
        {
            trace = root.TraceId;
            await rmqChannel.BasicPublishAsync("", queue, mandatory: false, basicProperties: new Rmq.BasicProperties(), body: new byte[3], cancellationToken: ct);
        }

        var rmqPublish = Assert.Single(await recorder.WaitStoppedAsync(trace, a => a.Source.Name == "RabbitMQ.Client.Publisher", 1, ct));

        await using var conn = new AmqpConnection(broker.AmqpUri);
        await conn.ConnectAsync(ct);
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: ct);
        await foreach (var m in ch.ConsumeAsync(queue, new ConsumeOptions { AutoAck = true }, ct))
        {
            Assert.Equal(trace, Activity.Current?.TraceId);
            break;
        }

        var process = Assert.Single(recorder.Stopped(trace), a => a.Source.Name == "Nucleon.Pipes");
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(trace, process.TraceId);
        Assert.Equal(rmqPublish.SpanId, process.ParentSpanId);
    }

    [Fact]
    public async Task A_Nucleon_publish_reaches_the_RabbitMQ_Client_deliver_span()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var recorder = new ActivityRecorder("Nucleon.Pipes", "RabbitMQ.Client.Publisher", "RabbitMQ.Client.Subscriber");
        string queue = BrokerConnectionInfo.UniqueName("nucleon-trace-rmq-out");
        var (rmqConnection, rmqChannel) = await OpenRabbitAsync(queue, exclusive: true, ct);
        await using var rmqConnectionScope = rmqConnection;
        await using var rmqChannelScope = rmqChannel;
        var delivered = new TaskCompletionSource<ActivityContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new RmqEvents.AsyncEventingBasicConsumer(rmqChannel);
        consumer.ReceivedAsync += (_, _) =>
        {
            delivered.TrySetResult(Activity.Current?.Context ?? default);
            return Task.CompletedTask;
        };
        await rmqChannel.BasicConsumeAsync(queue, autoAck: true, consumerTag: "", noLocal: false, exclusive: false, arguments: null, consumer: consumer, cancellationToken: ct);

        ActivityTraceId trace;
        await using (var conn = new AmqpConnection(broker.AmqpUri))
        {
            await conn.ConnectAsync(ct);
            await using var ch = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct);
            using var root = ActivityRecorder.TestSource.StartActivity("test root")!;
            trace = root.TraceId;
            await ch.PublishAsync("", queue, new byte[3], cancellationToken: ct);
        }

        var handlerContext = await delivered.Task.WaitAsync(ct);
        var publish = Assert.Single(recorder.Stopped(trace), a => a.Source.Name == "Nucleon.Pipes");
        // RabbitMQ.Client 7 starts its deliver span as a new trace linked to the producer's context (its design):
        // the link carries our publish span's trace and span id.
        var deliver = Assert.Single(await recorder.WaitStoppedAsync(trace, a => a.Source.Name == "RabbitMQ.Client.Subscriber", 1, ct));
        Assert.Equal(handlerContext.SpanId, deliver.SpanId);
        var link = Assert.Single(deliver.Links);
        Assert.Equal(trace, link.Context.TraceId);
        Assert.Equal(publish.SpanId, link.Context.SpanId);
    }

    // A RabbitMQ.Client connection and channel, and an auto-delete queue declared with them.
    private async Task<(Rmq.IConnection Connection, Rmq.IChannel Channel)> OpenRabbitAsync(string queue, bool exclusive, CancellationToken ct)
    {
        var factory = new Rmq.ConnectionFactory { Uri = new Uri(broker.AmqpUri) };
        var connection = await factory.CreateConnectionAsync(ct);
        try
        {
            var channel = await connection.CreateChannelAsync(cancellationToken: ct);
            await channel.QueueDeclareAsync(queue, durable: false, exclusive: exclusive, autoDelete: true, cancellationToken: ct);
            return (connection, channel);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
