using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RBasicProperties = RabbitMQ.Client.BasicProperties;

namespace Nucleon.Pipes.Benchmarks.E2E;

/// <summary>
/// RPC over RabbitMQ's direct reply-to (issue 10), for both clients: a server of the same library on its own
/// connection in this process (concurrency 8, prefetch 16, reply then ack) and a client with 1 or 64 callers
/// sharing one channel, each call timed from its start to its reply. On the null broker no server runs: the broker
/// itself delivers each call back to the reply consumer (its RPC echo), so the rows measure the client's side alone.
/// </summary>
internal static class DirectReplyToWorkloads
{
    public const string OneCaller = "rpc-direct";
    public const string ManyCallers = "rpc-direct-64";
    private const string Queue = "bench.rpc.direct";
    private const int ServerConcurrency = 8;
    private const ushort ServerPrefetch = 16;

    public static bool Handles(string workload) => workload is OneCaller or ManyCallers;

    private static int Callers(string workload) => workload == ManyCallers ? 64 : 1;

    private static int Calls(string workload, BenchContext ctx) => (workload == ManyCallers ? 20_000 : 5_000) / ctx.Scale;

    /// <summary>Runs <paramref name="callers"/> loops that share <paramref name="calls"/> calls; returns each call's latency.</summary>
    private static async Task<Outcome> TimeCallsAsync(int calls, int callers, Func<ValueTask> call)
    {
        var latencies = new double[calls];
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < calls)
            {
                long t0 = Stopwatch.GetTimestamp();
                await call();
                latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
        })));
        return new Outcome(calls, 32L * calls, latencies);
    }

    // ------------------------------------------------------------------ Nucleon.Pipes

    public static async Task<List<(string, Sample)>> NucleonAsync(string workload, BenchContext ctx)
    {
        await using var serverConn = ctx.NullTarget ? null : new AmqpConnection(ctx.Uri);
        using var stop = new CancellationTokenSource();
        var server = Task.CompletedTask;
        if (serverConn is not null)
        {
            await serverConn.ConnectAsync();
            await using (var ch = await serverConn.RentChannelAsync())
            {
                await ch.QueueDeclareAsync(Queue);
                await ch.QueuePurgeAsync(Queue);
            }

            server = serverConn.ServeRpcAsync(Queue, static (m, _) => ValueTask.FromResult(new AmqpRpcResponse(m.Body)),
                new RpcServerOptions { Concurrency = ServerConcurrency, Prefetch = ServerPrefetch }, stop.Token);
        }

        await using var conn = new AmqpConnection(ctx.Uri);
        await conn.ConnectAsync();
        await using var rpc = new AmqpRpcClient(conn, new RpcClientOptions { Mandatory = false });
        // Opens the client's channel and reply subscription before the clock starts, as the other client's set-up does.
        (await rpc.CallAsync("", Queue, BenchContext.Body32)).Dispose();

        // Pooled builder: the timing loop's own state per call is not what is measured.
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        async ValueTask CallAsync()
        {
            using var reply = await rpc.CallAsync("", Queue, BenchContext.Body32);
            if (reply.Body.Length != 32)
            {
                throw new InvalidOperationException("wrong reply");
            }
        }

        var sample = await Meter.RunAsync(ctx.ServerPid, () => TimeCallsAsync(Calls(workload, ctx), Callers(workload), CallAsync));

        await stop.CancelAsync();
        try
        {
            await server;
        }
        catch (OperationCanceledException)
        {
        }

        return [(workload, sample)];
    }

    // ------------------------------------------------------------------ RabbitMQ.Client 7.2.2

    public static async Task<List<(string, Sample)>> RabbitAsync(string workload, BenchContext ctx)
    {
        var factory = new ConnectionFactory { Uri = new Uri(ctx.Uri) };
        await using var serverConn = ctx.NullTarget ? null : await factory.CreateConnectionAsync();
        await using var serverChannel = serverConn is null ? null : await StartRabbitServerAsync(serverConn);

        // The usual direct reply-to client: one channel, replies matched through a dictionary of pending calls.
        await using var conn = await factory.CreateConnectionAsync();
        await using var channel = await conn.CreateChannelAsync();
        var pending = new ConcurrentDictionary<string, TaskCompletionSource<byte[]>>();
        var replies = new AsyncEventingBasicConsumer(channel);
        replies.ReceivedAsync += (_, ea) =>
        {
            if (ea.BasicProperties.CorrelationId is { } id && pending.TryRemove(id, out var call))
            {
                call.TrySetResult(ea.Body.ToArray());
            }

            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync("amq.rabbitmq.reply-to", true, replies);
        long nextId = 0;

        async Task<byte[]> CallAsync()
        {
            string id = Interlocked.Increment(ref nextId).ToString(CultureInfo.InvariantCulture);
            var call = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            pending[id] = call;
            var props = new RBasicProperties { ReplyTo = "amq.rabbitmq.reply-to", CorrelationId = id };
            await channel.BasicPublishAsync("", Queue, false, props, BenchContext.Body32);
            return await call.Task;
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        async ValueTask CheckedCallAsync()
        {
            if ((await CallAsync()).Length != 32)
            {
                throw new InvalidOperationException("wrong reply");
            }
        }

        await CallAsync();
        var sample = await Meter.RunAsync(ctx.ServerPid, () => TimeCallsAsync(Calls(workload, ctx), Callers(workload), CheckedCallAsync));

        if (serverChannel is not null)
        {
            await serverChannel.CloseAsync();
        }

        await channel.CloseAsync();
        return [(workload, sample)];
    }

    /// <summary>The RabbitMQ.Client server: echoes each call to its reply-to, then acks it.</summary>
    private static async Task<IChannel> StartRabbitServerAsync(IConnection serverConn)
    {
        var serverChannel = await serverConn.CreateChannelAsync(new CreateChannelOptions(false, false, consumerDispatchConcurrency: ServerConcurrency));
        await serverChannel.QueueDeclareAsync(Queue, durable: false, exclusive: false, autoDelete: false);
        await serverChannel.QueuePurgeAsync(Queue);
        await serverChannel.BasicQosAsync(0, ServerPrefetch, false);
        var responder = new AsyncEventingBasicConsumer(serverChannel);
        responder.ReceivedAsync += async (_, ea) =>
        {
            var props = new RBasicProperties { CorrelationId = ea.BasicProperties.CorrelationId };
            await serverChannel.BasicPublishAsync("", ea.BasicProperties.ReplyTo!, false, props, ea.Body);
            await serverChannel.BasicAckAsync(ea.DeliveryTag, false);
        };
        await serverChannel.BasicConsumeAsync(Queue, false, responder);
        return serverChannel;
    }
}
