// Nucleon.Pipes with the OpenTelemetry SDK: a confirmed publish and its processing form one trace
// (publish -> process -> the handler's own span), and the Nucleon.Pipes meter's instruments are
// printed by the console exporter at the end.
//   dotnet run --project samples/Nucleon.Pipes.Observability -- amqp://guest:guest@localhost:5672/%2f
// (scripts/observability-demo.sh starts a private broker node for it and stops it again.)
using System.Diagnostics;
using System.Text;
using Nucleon.Pipes;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

string uri = args.Length > 0 ? args[0] : "amqp://guest:guest@localhost:5672/%2f";
var app = new ActivitySource("Nucleon.Pipes.Observability.Sample");
var resource = ResourceBuilder.CreateDefault().AddService("nucleon-observability-sample");

using var tracing = Sdk.CreateTracerProviderBuilder()
    .SetResourceBuilder(resource)
    .AddSource("Nucleon.Pipes")       // the library's spans: publish <exchange>, process <queue>
    .AddSource(app.Name)
    .AddConsoleExporter()
    .Build();
using var metrics = Sdk.CreateMeterProviderBuilder()
    .SetResourceBuilder(resource)
    .AddMeter("Nucleon.Pipes")        // the library's instruments (see the README, "Observability")
    .AddConsoleExporter()
    .Build();

using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
var ct = cts.Token;
await using var conn = new AmqpConnection(uri);
const string queue = "observability.orders";
conn.OnConnect(async (c, token) =>
{
    await using var ch = await c.RentChannelAsync(cancellationToken: token);
    await ch.QueueDeclareAsync(queue, cancellationToken: token);
});
await conn.ConnectAsync(ct);

const int Orders = 3;
using (var checkout = app.StartActivity("checkout"))
{
    // The publish spans are children of "checkout"; their context travels in the message headers.
    await using var ch = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct);
    for (int i = 1; i <= Orders; i++)
    {
        var properties = new BasicProperties { MessageId = $"order-{i}", ContentType = "text/plain" };
        await ch.PublishAsync("", queue, Encoding.UTF8.GetBytes($"order {i}"), properties, cancellationToken: ct);
    }

    Console.WriteLine($"published {Orders} orders in trace {checkout?.TraceId}");
}

int handled = 0;
await foreach (Message m in conn.ConsumeAsync(queue, new ConsumeOptions { Prefetch = 10 }, ct))
{
    // Activity.Current is the message's "process" span, a child of its publish span: work done here joins the trace.
    using (var handle = app.StartActivity("handle order"))
    {
        handle?.SetTag("order", Encoding.UTF8.GetString(m.Body.Span));
        Console.WriteLine($"handling {m.Properties.MessageId} in trace {Activity.Current?.TraceId}");
    }

    await m.AckAsync(cancellationToken: ct);
    if (++handled == Orders)
    {
        break;
    }
}

await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
{
    await ch.QueueDeleteAsync(queue, cancellationToken: ct);
}

// Print the instruments now, while the connection is still open (its observable gauges report it).
metrics.ForceFlush();
await conn.CloseAsync(ct);
