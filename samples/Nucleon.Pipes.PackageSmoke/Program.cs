// Package smoke test: the published Nucleon.Pipes package, used exactly as an application would.
// Connects, publishes confirmed messages, consumes and acks them all, closes. Exit code 0 on success.
// Usage: dotnet run --project samples/Nucleon.Pipes.PackageSmoke -- amqp://guest:guest@127.0.0.1:5672/
using System.Text;
using Nucleon.Pipes;

string uri = args.Length > 0 ? args[0] : "amqp://guest:guest@127.0.0.1:5672/";
const int Count = 500;
string queue = $"package-smoke-{Guid.NewGuid():N}";
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
var ct = timeout.Token;

await using var conn = new AmqpConnection(uri);
conn.OnConnect(async (c, token) =>
{
    await using var ch = await c.RentChannelAsync(cancellationToken: token);
    await ch.QueueDeclareAsync(queue, autoDelete: true, cancellationToken: token);
});
await conn.ConnectAsync(ct);
Console.WriteLine($"package-smoke: connected to {conn.CurrentEndpoint}");

await using (var confirming = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
{
    for (int i = 0; i < Count; i++)
    {
        // Completes when the broker has the message; throws on nack, return or a lost connection.
        await confirming.PublishAsync("", queue, Encoding.UTF8.GetBytes($"message {i}"),
            new BasicProperties { MessageId = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }, cancellationToken: ct);
    }
}

Console.WriteLine($"package-smoke: {Count} messages published and confirmed");

var seen = new bool[Count];
int received = 0;
await foreach (Message m in conn.ConsumeAsync(queue, new ConsumeOptions { Prefetch = 50 }, ct))
{
    int id = int.Parse(m.Properties.MessageId!, System.Globalization.CultureInfo.InvariantCulture);
    if (Encoding.UTF8.GetString(m.Body.Span) != $"message {id}" || seen[id])
    {
        throw new InvalidOperationException($"message {id}: wrong body or received twice");
    }

    seen[id] = true;
    await m.AckAsync(cancellationToken: ct);
    if (++received == Count)
    {
        break;
    }
}

await conn.CloseAsync(ct);
await conn.Completion;
Console.WriteLine($"package-smoke: consumed and acked {received} messages; connection closed");
return received == Count ? 0 : 1;
