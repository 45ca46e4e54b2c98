using System.Globalization;
using System.Text;
using Nucleon.Pipes;

namespace Nucleon.Pipes.PackageSmoke;

/// <summary>The client on its own: connect, confirmed publish, consume and ack, close.</summary>
internal static class ClientSmoke
{
    private const int Count = 500;

    public static async Task RunAsync(string uri, CancellationToken ct)
    {
        string queue = $"package-smoke-{Guid.NewGuid():N}";
        await using var conn = new AmqpConnection(uri);
        conn.OnConnect(async (c, token) =>
        {
            await using var ch = await c.RentChannelAsync(cancellationToken: token);
            await ch.QueueDeclareAsync(queue, autoDelete: true, cancellationToken: token);
        });
        await conn.ConnectAsync(ct);
        StartupTiming.Mark("connected");
        Console.WriteLine($"package-smoke: connected to {conn.CurrentEndpoint}");

        await using (var confirming = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
        {
            for (int i = 0; i < Count; i++)
            {
                // Completes when the broker has the message; throws on nack, return or a lost connection.
                await confirming.PublishAsync("", queue, Encoding.UTF8.GetBytes($"message {i}"),
                    new BasicProperties { MessageId = i.ToString(CultureInfo.InvariantCulture) }, cancellationToken: ct);
            }
        }

        Console.WriteLine($"package-smoke: {Count} messages published and confirmed");

        var seen = new bool[Count];
        int received = 0;
        await foreach (Message m in conn.ConsumeAsync(queue, new ConsumeOptions { Prefetch = 50 }, ct))
        {
            int id = int.Parse(m.Properties.MessageId!, CultureInfo.InvariantCulture);
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
    }
}
