// The Nucleon.Pipes demo: an on-connect hook declares the topology, a long-lived consumer reads a
// queue, a pooled confirm-mode channel publishes, and every message is acknowledged.
// Usage: dotnet run --project samples/Nucleon.Pipes.Demo -- amqp://guest:guest@127.0.0.1:5672/
using System.Diagnostics;
using System.Text;
using Nucleon.Pipes;

string uri = args.Length > 0 ? args[0] : "amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=30";
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
var ct = timeout.Token;

await using var conn = new AmqpConnection(uri);
conn.OnConnect(async (c, token) =>
{
    // Runs on the first connect and on every reconnect, before any channel is handed out.
    await using var ch = await c.RentChannelAsync(cancellationToken: token);
    await ch.ExchangeDeclareAsync("cmscontent", ExchangeType.Topic, cancellationToken: token);
    await ch.QueueDeclareAsync("updates", cancellationToken: token);
    await ch.QueueBindAsync("updates", "cmscontent", "*.update", cancellationToken: token);
    Console.WriteLine($"hook: topology declared on connection generation {c.Generation}");
});
conn.OnError((c, ex) =>
{
    Console.WriteLine($"error: {ex.Message}"); // a hook or handler that threw, or the failure that ends the connection
    return ValueTask.CompletedTask;
});
conn.ConnectionLost += (_, e) => Console.WriteLine($"connection generation {e.Generation} to {e.Endpoint} lost: {e.Cause.Message}");
conn.Reconnected += (_, e) => Console.WriteLine($"reconnected: generation {e.Generation} after {e.Outage.TotalSeconds:0.0} s ({e.FailedAttempts} failed attempts)");

await conn.ConnectAsync(ct);
conn.ServerProperties.TryGetValue("version", out var version);
Console.WriteLine($"connected to {conn.CurrentEndpoint} (RabbitMQ {version})");

// A plain publish on a pooled channel: returned to the pool on dispose.
await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
{
    await ch.QueuePurgeAsync("updates", ct);
    await ch.PublishAsync("cmscontent", "page.update", Encoding.UTF8.GetBytes("front page changed"),
        new BasicProperties { ContentType = "text/plain", MessageId = "m-0", Headers = new Dictionary<string, object?> { ["editor"] = "ada" } },
        cancellationToken: ct);
}

// Confirmed publishes: each task completes when the broker has taken responsibility for the message.
const int count = 10_000;
var sw = Stopwatch.StartNew();
await using (var confirming = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
{
    // Up to 1,000 confirms in flight from one task, without allocating per message.
    var inFlight = new ValueTask[1000];
    for (int i = 0; i < count; i++)
    {
        if (i >= inFlight.Length)
        {
            await inFlight[i % inFlight.Length];
        }

#pragma warning disable CA2012 // each ValueTask is awaited exactly once, later: that is the pipelining
        inFlight[i % inFlight.Length] = confirming.PublishAsync("cmscontent", "article.update", Encoding.UTF8.GetBytes($"article {i}"), cancellationToken: ct);
#pragma warning restore CA2012
    }

    foreach (var pending in inFlight)
    {
        await pending;
    }
}

Console.WriteLine($"published {count} confirmed messages in {sw.ElapsedMilliseconds} ms");

// A long-lived consumer on a channel the caller owns.
await using var consumer = await conn.AllocateChannelAsync(cancellationToken: ct);
int received = 0;
sw.Restart();
await foreach (Message m in consumer.ConsumeAsync("updates", new ConsumeOptions { Prefetch = 200 }, ct))
{
    if (received == 0)
    {
        Console.WriteLine($"first message: \"{Encoding.UTF8.GetString(m.Body.Span)}\" via {m.RoutingKey}, content-type {m.Properties.ContentType}, editor {m.Properties.Headers?["editor"]}");
    }

    await m.AckAsync(cancellationToken: ct);
    if (++received == count + 1)
    {
        break;
    }
}

Console.WriteLine($"consumed and acked {received} messages in {sw.ElapsedMilliseconds} ms");

await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
{
    var left = await ch.QueueDeclareAsync("updates", passive: true, cancellationToken: ct);
    Console.WriteLine($"messages left in the queue: {left.MessageCount}");
}

await conn.CloseAsync(ct);
await conn.Completion;
Console.WriteLine("closed cleanly");
