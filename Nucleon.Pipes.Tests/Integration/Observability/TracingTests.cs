using System.Diagnostics;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Connection;

namespace Nucleon.Pipes.Tests.Integration.Observability;

/// <summary>
/// The <c>Nucleon.Pipes</c> activity source against a real broker: one trace from publish to process with the
/// right parent, kinds and attributes; the process span is current in the loop body and ends when the message is
/// settled or the loop moves on; the caller's properties are never changed; linking instead of parenting.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class TracingTests(BrokerFixture broker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Publish_and_process_form_one_trace_with_parent_child_ids_and_attributes()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var recorder = new ActivityRecorder("Nucleon.Pipes");
        var (conn, ch, queue) = await OpenAsync("nucleon-trace", ct);
        await using var connection = conn;
        await using var channel = ch;

        var callerHeaders = new Dictionary<string, object?> { ["app"] = "kept" };
        var properties = new BasicProperties { MessageId = "m-1", CorrelationId = "c-1", Headers = callerHeaders };
        ActivityTraceId trace;
        using (var root = ActivityRecorder.TestSource.StartActivity("test root")!)
        {
            root.AddBaggage("tenant", "t-42");
            trace = root.TraceId;
            await using var confirming = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct);
            await confirming.PublishAsync("", queue, new byte[7], properties, cancellationToken: ct);
            Assert.Same(root, Activity.Current);
        }

        // The caller's properties and headers dictionary are untouched: the context went into a copy.
        Assert.Equal(["app"], callerHeaders.Keys);
        var publish = Assert.Single(recorder.Stopped(trace), a => a.Source.Name == "Nucleon.Pipes");
        Assert.Equal("publish amq.default", publish.DisplayName);
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal("rabbitmq", publish.GetTagItem("messaging.system"));
        Assert.Equal("publish", publish.GetTagItem("messaging.operation.name"));
        Assert.Equal("amq.default", publish.GetTagItem("messaging.destination.name"));
        Assert.Equal(queue, publish.GetTagItem("messaging.rabbitmq.destination.routing_key"));
        Assert.Equal(7, publish.GetTagItem("messaging.message.body.size"));
        Assert.Equal("m-1", publish.GetTagItem("messaging.message.id"));
        Assert.Equal("c-1", publish.GetTagItem("messaging.message.conversation_id"));
        Assert.Equal(conn.CurrentEndpoint!.Host, publish.GetTagItem("server.address"));
        Assert.NotNull(publish.GetTagItem("network.peer.address"));
        Assert.Equal(ActivityStatusCode.Unset, publish.Status);

        Activity? inBody = null;
        await foreach (var m in ch.ConsumeAsync(queue, new ConsumeOptions { AutoAck = true }, ct))
        {
            inBody = Activity.Current;
            Assert.NotNull(inBody);
            Assert.False(inBody.IsStopped);
            Assert.Equal("t-42", inBody.GetBaggageItem("tenant"));
            Assert.True(m.Properties.Headers!.ContainsKey("traceparent"));
            break;
        }

        // Leaving the loop ended the span and gave the caller back its own current activity.
        Assert.Null(Activity.Current);
        var process = Assert.Single(recorder.Stopped(trace), a => a.Kind == ActivityKind.Consumer);
        Assert.Same(inBody, process);
        Assert.Equal("process " + queue, process.DisplayName);
        Assert.Equal(trace, process.TraceId);
        Assert.Equal(publish.SpanId, process.ParentSpanId);
        Assert.Equal("process", process.GetTagItem("messaging.operation.name"));
        Assert.Equal(queue, process.GetTagItem("messaging.destination.name"));
        Assert.Equal(queue, process.GetTagItem("messaging.rabbitmq.destination.routing_key"));
        Assert.Equal(1L, process.GetTagItem("messaging.rabbitmq.message.delivery_tag"));
        Assert.Equal(7L, process.GetTagItem("messaging.message.body.size"));
        Assert.Equal("m-1", process.GetTagItem("messaging.message.id"));
    }

    [Fact]
    public async Task The_process_span_ends_at_the_settle_or_the_next_step_and_returned_or_nacked_publishes_end_their_spans_with_an_error()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var recorder = new ActivityRecorder("Nucleon.Pipes");
        var (conn, ch, queue) = await OpenAsync("nucleon-trace-settle", ct);
        await using var connection = conn;
        await using var channel = ch;

        using var root = ActivityRecorder.TestSource.StartActivity("test root")!;
        var trace = root.TraceId;
        await using (var confirming = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
        {
            await Assert.ThrowsAsync<AmqpMessageReturnedException>(async () =>
                await confirming.PublishAsync("amq.direct", "unroutable-" + queue, new byte[1], mandatory: true, cancellationToken: ct));
            await confirming.PublishAsync("", queue, new byte[1], cancellationToken: ct);
        }

        var returned = Assert.Single(recorder.Stopped(trace), a => a.DisplayName == "publish amq.direct");
        Assert.Equal(ActivityStatusCode.Error, returned.Status);
        Assert.Equal(typeof(AmqpMessageReturnedException).FullName, returned.GetTagItem("error.type"));

        // A nack (a full queue that rejects publishes) ends the span with an error too.
        string full = queue + "-full";
        await ch.QueueDeclareAsync(full, exclusive: true,
            arguments: new Dictionary<string, object?> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" }, cancellationToken: ct);
        await using (var confirming = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
        {
            await Assert.ThrowsAsync<AmqpPublishNackedException>(async () => await confirming.PublishAsync("", full, new byte[1], cancellationToken: ct));
        }

        var nacked = Assert.Single(recorder.Stopped(trace), a => a.Kind == ActivityKind.Producer && (string?)a.GetTagItem("messaging.rabbitmq.destination.routing_key") == full);
        Assert.Equal(ActivityStatusCode.Error, nacked.Status);
        Assert.Equal(typeof(AmqpPublishNackedException).FullName, nacked.GetTagItem("error.type"));

        // The connection's resilient stream this time; two messages: the first is left unsettled (the loop moving on
        // ends its span), the second is acked (the ack ends it).
        await using (var confirming = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
        {
            await confirming.PublishAsync("", queue, new byte[1], cancellationToken: ct);
        }

        Activity? first = null;
        await foreach (var m in conn.ConsumeAsync(queue, new ConsumeOptions { Prefetch = 2 }, ct))
        {
            var span = Activity.Current!;
            Assert.Equal(ActivityKind.Consumer, span.Kind);
            Assert.False(span.IsStopped);
            if (first is null)
            {
                first = span;
                continue;
            }

            Assert.True(first.IsStopped);
            Assert.NotSame(first, span);
            await m.AckAsync(cancellationToken: ct);
            // Settled: the span is over and the loop's current activity is the one from before it.
            Assert.True(span.IsStopped);
            Assert.Same(root, Activity.Current);
            break;
        }

        Assert.Same(root, Activity.Current);
    }

    [Fact]
    public async Task With_LinkProcessSpans_the_process_span_starts_a_new_trace_linked_to_the_producer()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var recorder = new ActivityRecorder("Nucleon.Pipes");
        var (conn, ch, queue) = await OpenAsync("nucleon-trace-link", ct, AmqpConnectionOptions.Parse(broker.AmqpUri) with { LinkProcessSpans = true });
        await using var connection = conn;
        await using var channel = ch;

        var trace = await PublishInNewTraceAsync(ch, queue, ct);

        await foreach (var m in ch.ConsumeAsync(queue, cancellationToken: ct))
        {
            await m.AckAsync(cancellationToken: ct);
            break;
        }

        var publish = Assert.Single(recorder.Stopped(trace), a => a.Kind == ActivityKind.Producer);
        var process = Assert.Single(recorder.Stopped(trace), a => a.Kind == ActivityKind.Consumer);
        Assert.NotEqual(trace, process.TraceId);
        Assert.Equal(default, process.ParentSpanId);
        var link = Assert.Single(process.Links);
        Assert.Equal(publish.SpanId, link.Context.SpanId);
        Assert.Equal(trace, link.Context.TraceId);
    }

    [Fact]
    public async Task ProcessAsync_handlers_run_inside_their_message_span_and_a_failing_handler_marks_it()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var recorder = new ActivityRecorder("Nucleon.Pipes");
        var (conn, ch, queue) = await OpenAsync("nucleon-trace-process", ct);
        await using var connection = conn;
        await using var channel = ch;

        ActivityTraceId trace;
        using (var root = ActivityRecorder.TestSource.StartActivity("test root")!)
        {
            trace = root.TraceId;
            for (int i = 0; i < 4; i++)
            {
                await ch.PublishAsync("", queue, new[] { (byte)i }, cancellationToken: ct);
            }
        }

        var seen = new System.Collections.Concurrent.ConcurrentDictionary<byte, Activity?>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = conn.ConsumeAsync(queue, new ConsumeOptions { Prefetch = 4 }, stop.Token).ProcessAsync((m, _) =>
        {
            seen[m.Body.Span[0]] = Activity.Current;
            if (seen.Count == 4)
            {
                stop.CancelAfter(TimeSpan.FromMilliseconds(200));
            }

            return m.Body.Span[0] == 3 ? throw new InvalidOperationException("handler failed") : ValueTask.CompletedTask;
        }, new ProcessOptions { Concurrency = 2 }, stop.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        var processes = await recorder.WaitStoppedAsync(trace, a => a.Kind == ActivityKind.Consumer, 4, ct);
        Assert.Equal(4, seen.Count);
        foreach (var (value, span) in seen)
        {
            Assert.NotNull(span);
            Assert.Contains(span, processes);
            Assert.Equal(value == 3 ? ActivityStatusCode.Error : ActivityStatusCode.Unset, span.Status);
        }

        var publishes = recorder.Stopped(trace).Where(a => a.Kind == ActivityKind.Producer).Select(a => a.SpanId).ToHashSet();
        Assert.All(processes, p => Assert.Contains(p.ParentSpanId, publishes));
    }

    [Fact]
    public async Task A_basic_consumer_hands_out_messages_in_their_process_spans()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        using var recorder = new ActivityRecorder("Nucleon.Pipes");
        var (conn, ch, queue) = await OpenAsync("nucleon-trace-basic", ct);
        await using var connection = conn;
        await using var channel = ch;

        var trace = await PublishInNewTraceAsync(ch, queue, ct);

        await using var consumer = await ch.BasicConsumeAsync(queue, cancellationToken: ct);
        await foreach (var m in consumer.Messages.WithCancellation(ct))
        {
            Assert.Equal(trace, Activity.Current?.TraceId);
            await m.AckAsync(cancellationToken: ct);
            break;
        }

        var publish = Assert.Single(recorder.Stopped(trace), a => a.Kind == ActivityKind.Producer);
        var process = Assert.Single(recorder.Stopped(trace), a => a.Kind == ActivityKind.Consumer);
        Assert.Equal(publish.SpanId, process.ParentSpanId);
        Assert.Equal(queue, process.GetTagItem("messaging.destination.name"));
    }

    // One message published under a new root span of the test's own; returns that trace.
    private static async Task<ActivityTraceId> PublishInNewTraceAsync(MessageChannel ch, string queue, CancellationToken ct)
    {
        using var root = ActivityRecorder.TestSource.StartActivity("test root")!;
        await ch.PublishAsync("", queue, new byte[1], cancellationToken: ct);
        return root.TraceId;
    }

    // A connection, a channel of it and an exclusive queue declared on that channel.
    private async Task<(AmqpConnection Connection, MessageChannel Channel, string Queue)> OpenAsync(string what, CancellationToken ct, AmqpConnectionOptions? options = null)
    {
        var conn = new AmqpConnection(options ?? AmqpConnectionOptions.Parse(broker.AmqpUri));
        try
        {
            await conn.ConnectAsync(ct);
            var ch = await conn.AllocateChannelAsync(cancellationToken: ct);
            string queue = BrokerConnectionInfo.UniqueName(what);
            await ch.QueueDeclareAsync(queue, exclusive: true, cancellationToken: ct);
            return (conn, ch, queue);
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }
}
