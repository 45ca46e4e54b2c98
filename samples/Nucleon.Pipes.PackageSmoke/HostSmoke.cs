using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Nucleon.Pipes.Hosting;

namespace Nucleon.Pipes.PackageSmoke;

/// <summary>The Generic Host integration: hosted connection, hosted consumer, publisher, health check.</summary>
internal static class HostSmoke
{
    private const int Count = 200;

    public static async Task RunAsync(string uri, CancellationToken ct)
    {
        string queue = $"package-smoke-hosted-{Guid.NewGuid():N}";
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:amqp"] = uri });
        builder.Services.AddSingleton<Received>();
        builder.Services.AddAmqpConnection().OnConnect(async (_, conn, token) =>
        {
            await using var ch = await conn.RentChannelAsync(cancellationToken: token);
            await ch.QueueDeclareAsync(queue, autoDelete: true, cancellationToken: token);
        });
        builder.Services.AddAmqpConsumer<CountingHandler>(queue, o => o.Concurrency = 4);

        using var host = builder.Build();
        await host.StartAsync(ct);
        StartupTiming.Mark("host-started");
        Console.WriteLine("package-smoke: host started");
        var registration = AmqpHealthChecks.ForConnection();
        var health = await registration.Factory(host.Services).CheckHealthAsync(new HealthCheckContext { Registration = registration }, ct);
        if (health.Status != HealthStatus.Healthy)
        {
            throw new InvalidOperationException($"health check: {health.Status} {health.Description}");
        }

        var publisher = host.Services.GetRequiredService<IAmqpPublisher>();
        for (int i = 0; i < Count; i++)
        {
            await publisher.PublishAsync("", queue, Encoding.UTF8.GetBytes($"hosted {i}"), cancellationToken: ct);
        }

        Console.WriteLine($"package-smoke: {Count} messages published through IAmqpPublisher");
        var received = host.Services.GetRequiredService<Received>();
        await received.All(Count).WaitAsync(ct);
        await host.StopAsync(ct);
        Console.WriteLine($"package-smoke: hosted consumer handled {Count} messages published through IAmqpPublisher; host stopped");
    }

    /// <summary>Counts handled messages.</summary>
    internal sealed class Received
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;
        private int _target = int.MaxValue;

        public Task All(int count)
        {
            // A full fence (not a release write): the count is read after the target is seen, or the last
            // handler and this call could each miss the other's write and the wait would never end.
            Interlocked.Exchange(ref _target, count);
            if (Volatile.Read(ref _count) >= count)
            {
                _done.TrySetResult();
            }

            return _done.Task;
        }

        public void Add()
        {
            if (Interlocked.Increment(ref _count) >= Volatile.Read(ref _target))
            {
                _done.TrySetResult();
            }
        }
    }

    /// <summary>The hosted consumer's handler: resolved in a new scope per message.</summary>
    internal sealed class CountingHandler(Received received) : IAmqpMessageHandler
    {
        public Task HandleAsync(AmqpMessageContext context, CancellationToken cancellationToken)
        {
            received.Add();
            return Task.CompletedTask;
        }
    }
}
