using System.Diagnostics;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RBasicProperties = RabbitMQ.Client.BasicProperties;

namespace Nucleon.Pipes.Benchmarks.E2E;

/// <summary>Counts and names shared by both clients' implementations of the workloads.</summary>
internal sealed class BenchContext
{
    public required string Uri { get; init; }
    public required bool NullTarget { get; init; }
    public required int ServerPid { get; init; }
    public required int Scale { get; init; } // 1 full, 10 quick

    public int PublishCount => 1_000_000 / Scale;
    public int ConfirmCount => 200_000 / Scale;
    public int ParallelPerTask => 50_000 / Scale;
    public int ConsumeCount => 1_000_000 / Scale;
    public int RpcCount => 20_000 / Scale;
    public int LargeCount => Math.Max(1, 200 / Scale);
    public const int LargeSize = 4 * 1024 * 1024;
    public const int FairnessSize = 64 * 1024 * 1024;
    public const int FairnessSmall = 100;

    public const string PublishQueue = "bench.publish";
    public const string RpcQueue = "bench.rpc";

    public static readonly byte[] Body32 = Micro.Payloads.CreateBody(32);
    public static readonly byte[] LargeBody = Micro.Payloads.CreateBody(LargeSize);
    public static readonly byte[] FairnessBody = Micro.Payloads.CreateBody(FairnessSize);

    public string ConsumeQueue(int count, int size) => NullTarget ? $"null:{count}:{size}" : size == 32 ? "bench.consume" : "bench.large";

    /// <summary>Broker target: declares the bench queues once (bounded publish queue, consume queues).</summary>
    public async Task PrepareBrokerAsync()
    {
        if (NullTarget)
        {
            return;
        }

        await using var conn = new AmqpConnection(Uri);
        await conn.ConnectAsync();
        await using var ch = await conn.AllocateChannelAsync();
        await ch.QueueDeclareAsync(PublishQueue, arguments: new Dictionary<string, object?> { ["x-max-length"] = 10_000 });
        await ch.QueueDeclareAsync("bench.consume");
        await ch.QueueDeclareAsync("bench.large");
        await ch.QueueDeclareAsync(RpcQueue);
        await ch.QueuePurgeAsync(PublishQueue);
        await ch.QueuePurgeAsync("bench.consume");
        await ch.QueuePurgeAsync("bench.large");
        await conn.CloseAsync();
    }

    /// <summary>Broker target: purges <paramref name="queue"/> and fills it with <paramref name="count"/> messages (not measured).</summary>
    public async Task FillAsync(string queue, int count, byte[] body)
    {
        if (NullTarget)
        {
            return;
        }

        await using var conn = new AmqpConnection(Uri);
        await conn.ConnectAsync();
        await using var ch = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true });
        await ch.QueuePurgeAsync(queue);
        await NucleonWorkloads.PublishPipelined(ch, queue, body, count, new ValueTask[body.Length > 1024 ? 16 : 1000]);
        await conn.CloseAsync();
    }
}

internal interface IClientWorkloads
{
    string Name { get; }

    Task<List<(string Row, Sample Sample)>> RunAsync(string workload, BenchContext ctx);
}

// ====================================================================== Nucleon.Pipes

internal sealed class NucleonWorkloads : IClientWorkloads
{
    public string Name => "Nucleon.Pipes";

    public async Task<List<(string Row, Sample Sample)>> RunAsync(string workload, BenchContext ctx)
    {
        if (DirectReplyToWorkloads.Handles(workload))
        {
            return await DirectReplyToWorkloads.NucleonAsync(workload, ctx);
        }

        await using var conn = new AmqpConnection(ctx.Uri);
        await conn.ConnectAsync();
        var result = new List<(string, Sample)>();
        switch (workload)
        {
            case "publish":
            {
                await using var ch = await conn.AllocateChannelAsync();
                int n = ctx.PublishCount;
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    var body = BenchContext.Body32;
                    for (int i = 0; i < n; i++)
                    {
                        await ch.PublishAsync("", BenchContext.PublishQueue, body);
                    }

                    await ch.QueueDeclareAsync(BenchContext.PublishQueue, passive: true);
                    return new Outcome(n, 32L * n);
                })));
                break;
            }

            case "publish-confirm":
            {
                await using var ch = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true });
                int n = ctx.ConfirmCount;
                var ring = new ValueTask[1000];
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    await PublishPipelined(ch, BenchContext.PublishQueue, BenchContext.Body32, n, ring);
                    return new Outcome(n, 32L * n);
                })));
                break;
            }

            case "publish-batch":
            {
                // PublishBatchAsync over lists of 10,000 (the same list each time): the writer is woken once per
                // 256 messages instead of once per message.
                await using var ch = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true });
                int n = ctx.ConfirmCount;
                var batch = new OutgoingMessage[Math.Min(n, 10_000)];
                Array.Fill(batch, new OutgoingMessage("", BenchContext.PublishQueue, BenchContext.Body32));
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    for (int done = 0; done < n; done += batch.Length)
                    {
                        var outcome = await ch.PublishBatchAsync(batch);
                        if (outcome.Failures.Count > 0)
                        {
                            throw new InvalidOperationException($"{outcome.Failures.Count} publishes of a batch failed: {outcome.Failures[0].Error.Message}");
                        }
                    }

                    return new Outcome(n, 32L * n);
                })));
                break;
            }

            case "publish-parallel":
            {
                int per = ctx.ParallelPerTask;
                // Warm the confirm pool: 16 channels opened before the clock starts, as a service would have.
                var warm = new List<MessageChannel>();
                for (int t = 0; t < 16; t++)
                {
                    warm.Add(await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }));
                }

                foreach (var c in warm)
                {
                    await c.DisposeAsync();
                }

                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    var tasks = new Task[16];
                    for (int t = 0; t < tasks.Length; t++)
                    {
                        tasks[t] = Task.Run(async () =>
                        {
                            await using var ch = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true });
                            await PublishPipelined(ch, BenchContext.PublishQueue, BenchContext.Body32, per, new ValueTask[1000]);
                        });
                    }

                    await Task.WhenAll(tasks);
                    return new Outcome(16L * per, 32L * 16 * per);
                })));
                break;
            }

            case "consume":
            case "consume-autoack":
            {
                bool autoAck = workload == "consume-autoack";
                int n = ctx.ConsumeCount;
                string queue = ctx.ConsumeQueue(n, 32);
                await ctx.FillAsync(queue, n, BenchContext.Body32);
                await using var ch = await conn.AllocateChannelAsync();
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    long got = await Consume(ch, queue, n, autoAck, prefetch: 1000, ackEvery: 100);
                    return new Outcome(got, 32L * got);
                })));
                break;
            }

            case "rpc":
            {
                int n = ctx.RpcCount;
                await using var responderConn = ctx.NullTarget ? null : new AmqpConnection(ctx.Uri);
                using var stop = new CancellationTokenSource();
                Task? responder = null;
                if (responderConn is not null)
                {
                    await responderConn.ConnectAsync();
                    var rch = await responderConn.AllocateChannelAsync();
                    var consumer = await rch.BasicConsumeAsync(BenchContext.RpcQueue, new ConsumeOptions { AutoAck = true });
                    responder = Task.Run(async () =>
                    {
                        try
                        {
                            await foreach (var m in consumer.Messages.WithCancellation(stop.Token))
                            {
                                await rch.PublishAsync("", m.Properties.ReplyTo!, m.Body, new BasicProperties { CorrelationId = m.Properties.CorrelationId });
                            }
                        }
                        catch (OperationCanceledException)
                        {
                        }
                    });
                }

                await using var pub = await conn.AllocateChannelAsync();
                var replyCh = await conn.AllocateChannelAsync();
                string replyQueue = (await replyCh.QueueDeclareAsync("", exclusive: true, autoDelete: true)).QueueName;
                var replies = await replyCh.BasicConsumeAsync(replyQueue, new ConsumeOptions { AutoAck = true });
                var e = replies.Messages.GetAsyncEnumerator();
                var props = new BasicProperties { ReplyTo = replyQueue, CorrelationId = "rpc-1" };
                var lat = new double[n];
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    for (int i = 0; i < n; i++)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        await pub.PublishAsync("", BenchContext.RpcQueue, BenchContext.Body32, props);
                        if (!await e.MoveNextAsync())
                        {
                            throw new InvalidOperationException("reply stream ended");
                        }

                        lat[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    }

                    return new Outcome(n, 32L * n, lat);
                })));
                await e.DisposeAsync();
                await replies.DisposeAsync();
                await stop.CancelAsync();
                if (responder is not null)
                {
                    await responder;
                }

                break;
            }

            case "large":
            {
                int n = ctx.LargeCount;
                string queue = ctx.ConsumeQueue(n, BenchContext.LargeSize);
                if (!ctx.NullTarget)
                {
                    await using var purge = await conn.AllocateChannelAsync();
                    await purge.QueuePurgeAsync(queue);
                }

                await using (var ch = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }))
                {
                    result.Add(("large-publish", await Meter.RunAsync(ctx.ServerPid, async () =>
                    {
                        await PublishPipelined(ch, ctx.NullTarget ? "bench.large" : queue, BenchContext.LargeBody, n, new ValueTask[16]);
                        return new Outcome(n, (long)BenchContext.LargeSize * n);
                    })));
                }

                await using (var ch = await conn.AllocateChannelAsync())
                {
                    result.Add(("large-consume", await Meter.RunAsync(ctx.ServerPid, async () =>
                    {
                        long got = await Consume(ch, queue, n, autoAck: false, prefetch: 10, ackEvery: 1);
                        return new Outcome(got, (long)BenchContext.LargeSize * got);
                    })));
                }

                break;
            }

            case "fairness":
            {
                await using var big = await conn.AllocateChannelAsync();
                await using var small = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true });
                var lat = new double[BenchContext.FairnessSmall];
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    var bigTask = big.PublishAsync("amq.direct", "bench.nowhere", BenchContext.FairnessBody).AsTask();
                    for (int i = 0; i < lat.Length; i++)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        await small.PublishAsync("", BenchContext.PublishQueue, BenchContext.Body32);
                        lat[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    }

                    await bigTask;
                    await big.QueueDeclareAsync(BenchContext.PublishQueue, passive: true); // the big one has left
                    return new Outcome(lat.Length, 32L * lat.Length, lat);
                })));
                break;
            }

            default:
                throw new ArgumentException($"unknown workload {workload}");
        }

        await conn.CloseAsync();
        return result;
    }

    internal static async Task PublishPipelined(MessageChannel ch, string queue, byte[] body, int n, ValueTask[] ring)
    {
        for (int i = 0; i < n; i++)
        {
            int slot = i % ring.Length;
            if (i >= ring.Length)
            {
                await ring[slot];
            }

            ring[slot] = ch.PublishAsync("", queue, body);
        }

        for (int i = 0; i < Math.Min(n, ring.Length); i++)
        {
            await ring[i];
        }
    }

    /// <summary>
    /// An auto-ack consumer has no flow control: the null broker sends the whole backlog at wire speed, faster
    /// than any loop reads it, and a consumer whose overflow passes <see cref="ConsumeOptions.MaxOverflowBytes"/>
    /// (64 MiB by default) is cancelled. This limit holds a full run's backlog, so the row measures the cost per
    /// message (buffering included), not that limit. Against RabbitMQ the loop keeps up and nothing overflows.
    /// </summary>
    private const long AutoAckOverflowBytes = 1L << 30;

    private static async Task<long> Consume(MessageChannel ch, string queue, int n, bool autoAck, ushort prefetch, int ackEvery)
    {
        long got = 0;
        await foreach (var m in ch.ConsumeAsync(queue, new ConsumeOptions { Prefetch = prefetch, AutoAck = autoAck, MaxOverflowBytes = AutoAckOverflowBytes }))
        {
            got++;
            if (!autoAck && (got % ackEvery == 0 || got == n))
            {
                await m.AckAsync(multiple: true);
            }

            if (got == n)
            {
                break;
            }
        }

        return got;
    }
}

// ====================================================================== RabbitMQ.Client 7

internal sealed class RabbitWorkloads : IClientWorkloads
{
    public string Name => "RabbitMQ.Client";

    private static CreateChannelOptions ConfirmOptions() =>
        new(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(1000, throttlingPercentage: ThrottlePercent));

    /// <summary>
    /// ThrottlingRateLimiter's default (50 %) sleeps (outstanding) ms per publish once more than half the permits are
    /// taken, which caps a pipelined publisher with 1,000 in flight at ~1k msgs/s (measured). 0 keeps the limiter as a
    /// pure cap of 1,000 outstanding confirms, which is what the workload asks for. <c>--rmq-throttle 50</c> restores it.
    /// </summary>
    public static int ThrottlePercent { get; set; }

    public async Task<List<(string Row, Sample Sample)>> RunAsync(string workload, BenchContext ctx)
    {
        if (DirectReplyToWorkloads.Handles(workload))
        {
            return await DirectReplyToWorkloads.RabbitAsync(workload, ctx);
        }

        var factory = new ConnectionFactory { Uri = new Uri(ctx.Uri) };
        await using var conn = await factory.CreateConnectionAsync();
        var result = new List<(string, Sample)>();
        switch (workload)
        {
            case "publish":
            {
                await using var ch = await conn.CreateChannelAsync();
                int n = ctx.PublishCount;
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    var body = BenchContext.Body32;
                    for (int i = 0; i < n; i++)
                    {
                        await ch.BasicPublishAsync("", BenchContext.PublishQueue, body);
                    }

                    await ch.QueueDeclarePassiveAsync(BenchContext.PublishQueue);
                    return new Outcome(n, 32L * n);
                })));
                break;
            }

            // RabbitMQ.Client 7 has no batch publish: its best for many messages at hand is the pipelined publish-confirm loop.
            case "publish-batch":
            case "publish-confirm":
            {
                await using var ch = await conn.CreateChannelAsync(ConfirmOptions());
                int n = ctx.ConfirmCount;
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    await PublishPipelined(ch, BenchContext.PublishQueue, BenchContext.Body32, n, new ValueTask[1000]);
                    return new Outcome(n, 32L * n);
                })));
                break;
            }

            case "publish-parallel":
            {
                int per = ctx.ParallelPerTask;
                var channels = new IChannel[16];
                for (int t = 0; t < channels.Length; t++)
                {
                    channels[t] = await conn.CreateChannelAsync(ConfirmOptions());
                }

                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    var tasks = new Task[16];
                    for (int t = 0; t < tasks.Length; t++)
                    {
                        var ch = channels[t];
                        tasks[t] = Task.Run(() => PublishPipelined(ch, BenchContext.PublishQueue, BenchContext.Body32, per, new ValueTask[1000]));
                    }

                    await Task.WhenAll(tasks);
                    return new Outcome(16L * per, 32L * 16 * per);
                })));
                foreach (var ch in channels)
                {
                    await ch.CloseAsync();
                    await ch.DisposeAsync();
                }

                break;
            }

            case "consume":
            case "consume-autoack":
            {
                bool autoAck = workload == "consume-autoack";
                int n = ctx.ConsumeCount;
                string queue = ctx.ConsumeQueue(n, 32);
                await ctx.FillAsync(queue, n, BenchContext.Body32);
                await using var ch = await conn.CreateChannelAsync();
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    long got = await Consume(ch, queue, n, autoAck, 1000, 100);
                    return new Outcome(got, 32L * got);
                })));
                break;
            }

            case "rpc":
            {
                int n = ctx.RpcCount;
                IConnection? responderConn = null;
                IChannel? rch = null;
                if (!ctx.NullTarget)
                {
                    responderConn = await factory.CreateConnectionAsync();
                    rch = await responderConn.CreateChannelAsync();
                    var rc = new AsyncEventingBasicConsumer(rch);
                    var responderChannel = rch;
                    rc.ReceivedAsync += async (_, ea) =>
                    {
                        var props = new RBasicProperties { CorrelationId = ea.BasicProperties.CorrelationId };
                        await responderChannel.BasicPublishAsync("", ea.BasicProperties.ReplyTo!, false, props, ea.Body);
                    };
                    await rch.BasicConsumeAsync(BenchContext.RpcQueue, true, rc);
                }

                await using var ch = await conn.CreateChannelAsync();
                var ok = await ch.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true);
                string replyQueue = ok.QueueName;
                TaskCompletionSource? pending = null;
                var consumer = new AsyncEventingBasicConsumer(ch);
                consumer.ReceivedAsync += (_, ea) =>
                {
                    pending?.TrySetResult();
                    return Task.CompletedTask;
                };
                await ch.BasicConsumeAsync(replyQueue, true, consumer);
                var requestProps = new RBasicProperties { ReplyTo = replyQueue, CorrelationId = "rpc-1" };
                var lat = new double[n];
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    for (int i = 0; i < n; i++)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        Volatile.Write(ref pending, tcs);
                        await ch.BasicPublishAsync("", BenchContext.RpcQueue, false, requestProps, BenchContext.Body32);
                        await tcs.Task;
                        lat[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    }

                    return new Outcome(n, 32L * n, lat);
                })));
                if (responderConn is not null)
                {
                    await rch!.CloseAsync();
                    await responderConn.CloseAsync();
                    await responderConn.DisposeAsync();
                }

                break;
            }

            case "large":
            {
                int n = ctx.LargeCount;
                string queue = ctx.ConsumeQueue(n, BenchContext.LargeSize);
                await using (var ch = await conn.CreateChannelAsync(ConfirmOptions()))
                {
                    if (!ctx.NullTarget)
                    {
                        await ch.QueuePurgeAsync(queue);
                    }

                    result.Add(("large-publish", await Meter.RunAsync(ctx.ServerPid, async () =>
                    {
                        await PublishPipelined(ch, ctx.NullTarget ? "bench.large" : queue, BenchContext.LargeBody, n, new ValueTask[16]);
                        return new Outcome(n, (long)BenchContext.LargeSize * n);
                    })));
                }

                await using (var ch = await conn.CreateChannelAsync())
                {
                    result.Add(("large-consume", await Meter.RunAsync(ctx.ServerPid, async () =>
                    {
                        long got = await Consume(ch, queue, n, false, 10, 1);
                        return new Outcome(got, (long)BenchContext.LargeSize * got);
                    })));
                }

                break;
            }

            case "fairness":
            {
                await using var big = await conn.CreateChannelAsync();
                await using var small = await conn.CreateChannelAsync(ConfirmOptions());
                var lat = new double[BenchContext.FairnessSmall];
                result.Add((workload, await Meter.RunAsync(ctx.ServerPid, async () =>
                {
                    var bigTask = big.BasicPublishAsync("amq.direct", "bench.nowhere", BenchContext.FairnessBody).AsTask();
                    for (int i = 0; i < lat.Length; i++)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        await small.BasicPublishAsync("", BenchContext.PublishQueue, BenchContext.Body32);
                        lat[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    }

                    await bigTask;
                    await big.QueueDeclarePassiveAsync(BenchContext.PublishQueue);
                    return new Outcome(lat.Length, 32L * lat.Length, lat);
                })));
                break;
            }

            default:
                throw new ArgumentException($"unknown workload {workload}");
        }

        await conn.CloseAsync();
        return result;
    }

    private static async Task PublishPipelined(IChannel ch, string queue, byte[] body, int n, ValueTask[] ring)
    {
        for (int i = 0; i < n; i++)
        {
            int slot = i % ring.Length;
            if (i >= ring.Length)
            {
                await ring[slot];
            }

            ring[slot] = ch.BasicPublishAsync("", queue, body);
        }

        for (int i = 0; i < Math.Min(n, ring.Length); i++)
        {
            await ring[i];
        }
    }

    private static async Task<long> Consume(IChannel ch, string queue, int n, bool autoAck, ushort prefetch, int ackEvery)
    {
        long got = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(ch);
        consumer.ReceivedAsync += async (_, ea) =>
        {
            long c = ++got;
            if (!autoAck && (c % ackEvery == 0 || c == n))
            {
                await ch.BasicAckAsync(ea.DeliveryTag, multiple: true);
            }

            if (c == n)
            {
                done.TrySetResult();
            }
        };
        if (!autoAck)
        {
            await ch.BasicQosAsync(0, prefetch, false);
        }

        string tag = await ch.BasicConsumeAsync(queue, autoAck, consumer);
        await done.Task;
        await ch.BasicCancelAsync(tag);
        return got;
    }
}
