using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Connection;

namespace Nucleon.Pipes.Tests.Integration.Configuration;

/// <summary>
/// <see cref="AmqpConnectionOptions"/> bound from an appsettings.json section through the Generic Host
/// (<c>AddOptions&lt;AmqpConnectionOptions&gt;().BindConfiguration(...)</c>), then used against the broker.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class ConfiguredConnectionTests(BrokerFixture broker)
{
    [Fact]
    public async Task A_connection_configured_in_appsettings_reaches_the_configured_broker_as_configured()
    {
        using var cts = new CancellationTokenSource(BrokerFixture.CtlTestTimeout);
        string name = BrokerConnectionInfo.UniqueName("nucleon-configured");
        string json = $$"""
            {
              "Amqp": {
                "Endpoints": [ { "Host": "{{broker.Host}}", "Port": {{broker.Port.ToString(CultureInfo.InvariantCulture)}} } ],
                "Heartbeat": "00:00:07",
                "ClientProvidedName": "{{name}}",
                "ClientProperties": { "service": "billing", "region": "eu-west" },
                "ChannelMax": 10
              }
            }
            """;
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        builder.Services.AddOptions<AmqpConnectionOptions>().BindConfiguration("Amqp");
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptions<AmqpConnectionOptions>>().Value;

        var configured = new AmqpEndpoint(broker.Host, broker.Port);
        Assert.Equal([configured], options.Endpoints); // not localhost:5672 followed by the broker
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });
        await conn.ConnectAsync(cts.Token);

        Assert.Equal(configured, conn.CurrentEndpoint);
        Assert.Empty(log.AttemptFailures); // the first attempt went to the configured broker

        Assert.Equal(new AmqpTuning(TimeSpan.FromSeconds(7), options.FrameMax, 10), conn.Tuning);
        var info = await BrokerConnectionInfo.FindAsync(broker, name);
        Assert.Equal(7, info.Timeout);
        Assert.Equal(10, info.ChannelMax);
        Assert.Contains("{\"service\",\"billing\"}", info.ClientProperties, StringComparison.Ordinal);
        Assert.Contains("{\"region\",\"eu-west\"}", info.ClientProperties, StringComparison.Ordinal);
    }
}
