using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Messaging;

namespace Nucleon.Pipes.Tests.Integration.Hosting;

/// <summary>Builds real Generic Hosts whose default AMQP connection points at the fixture's broker.</summary>
public abstract class HostingTestBase(BrokerFixture broker) : MessagingTestBase(broker)
{
    /// <summary>A host with <c>ConnectionStrings:amqp</c> set to the broker (plus <paramref name="config"/>), configured by <paramref name="configure"/>.</summary>
    protected TestHost BuildHost(Action<HostApplicationBuilder> configure, IDictionary<string, string?>? config = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var values = new Dictionary<string, string?> { ["ConnectionStrings:amqp"] = Broker.AmqpUri };
        foreach (var (key, value) in config ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(values);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        configure(builder);
        return new TestHost(builder.Build());
    }

    /// <summary>Publishes <paramref name="count"/> confirmed messages with MessageId "0".."count-1", up to 500 confirms in flight.</summary>
    protected async Task PublishManyAsync(string queue, int count, CancellationToken cancellationToken)
    {
        await using var ch = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, cancellationToken);
        var window = new List<Task>(500);
        for (int i = 0; i < count; i++)
        {
            var id = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            window.Add(ch.PublishAsync("", queue, Utf8(id), new BasicProperties { MessageId = id }, cancellationToken: cancellationToken).AsTask());
            if (window.Count == 500)
            {
                await Task.WhenAll(window);
                window.Clear();
            }
        }

        await Task.WhenAll(window);
    }

    /// <summary>Polls until the queue holds <paramref name="expected"/> ready messages (bounded by the token); returns the last count.</summary>
    protected async Task<uint> WaitForReadyCountAsync(string queue, uint expected, CancellationToken cancellationToken)
    {
        while (true)
        {
            var count = await ReadyCountAsync(queue);
            if (count == expected || cancellationToken.IsCancellationRequested)
            {
                return count;
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }
}
