using System.Text;
using Microsoft.Extensions.Options;
using Nucleon.Pipes.Hosting;

namespace Nucleon.Pipes.Worker;

/// <summary>A hosted publisher: publishes the configured number of orders, each confirmed by the broker.</summary>
internal sealed class OrderPublisher(IAmqpPublisher publisher, IOptions<WorkerSettings> settings, ILogger<OrderPublisher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var s = settings.Value;
        var pending = new List<Task>(s.Messages);
        for (int i = 1; i <= s.Messages; i++)
        {
            pending.Add(publisher.PublishAsync("", s.Queue, Encoding.UTF8.GetBytes($"order-{i}"), cancellationToken: stoppingToken));
        }

        await Task.WhenAll(pending);
        logger.LogInformation("published {Count} confirmed orders to {Queue}", s.Messages, s.Queue);
    }
}
