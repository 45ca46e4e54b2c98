// A Worker Service on Nucleon.Pipes.Hosting: a hosted connection (ConnectionStrings:amqp) whose on-connect
// hook declares the queue, a hosted publisher and a hosted consumer, settings from appsettings.json.
// It stops by itself once every published message was handled (a real worker would run until stopped).
using Nucleon.Pipes;
using Nucleon.Pipes.Hosting;
using Nucleon.Pipes.Worker;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.Configure<WorkerSettings>(builder.Configuration.GetSection("Worker"));
var settings = builder.Configuration.GetSection("Worker").Get<WorkerSettings>() ?? new WorkerSettings();

builder.Services.AddAmqpConnection()
    .OnConnect(async (_, conn, ct) =>
    {
        await using var ch = await conn.RentChannelAsync(cancellationToken: ct);
        await ch.QueueDeclareAsync(settings.Queue, durable: true, cancellationToken: ct);
    });
builder.Services.AddAmqpConsumer<OrderHandler>(settings.Queue, o => o.Concurrency = settings.Concurrency);
builder.Services.AddSingleton<Progress>();
builder.Services.AddHostedService<OrderPublisher>();

using var host = builder.Build();
var progress = host.Services.GetRequiredService<Progress>();
await host.RunAsync();
int handled = progress.Handled;
Console.WriteLine($"worker: handled {handled} of {settings.Messages} orders; stopped cleanly");
return handled == settings.Messages ? 0 : 1;
