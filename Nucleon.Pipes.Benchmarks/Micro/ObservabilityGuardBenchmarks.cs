using BenchmarkDotNet.Attributes;
using Nucleon.Pipes.Benchmarks.NullBroker;
using Nucleon.Pipes.Consumers;
using Nucleon.Pipes.Diagnostics.Metrics;
using Nucleon.Pipes.Diagnostics.Tracing;

namespace Nucleon.Pipes.Benchmarks.Micro;

/// <summary>
/// What observability adds to a message's path when nobody listens (issue 11): the publish path's check, the
/// consume loop's hand-out, enter and end, and a settlement's check, on a real channel and consumer of the
/// in-process null broker. Too small to see in an end-to-end row next to its noise, so measured on its own.
/// </summary>
[Config(typeof(MicroConfig))]
public class ObservabilityGuardBenchmarks
{
    private NullBrokerServer _broker = null!;
    private AmqpConnection _conn = null!;
    private MessageChannel _channel = null!;
    private ConsumerState _consumer = null!;
    private Delivery _delivery = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _broker = new NullBrokerServer();
        _broker.Start();
        _conn = new AmqpConnection(_broker.Uri);
        await _conn.ConnectAsync();
        _channel = await _conn.AllocateChannelAsync();
        _consumer = new ConsumerState(_channel.Core, "bench", autoAck: false, 10, 0, TimeProvider.System) { Queue = "bench" };
        _delivery = new Delivery(_consumer);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _conn.CloseAsync();
        await _broker.DisposeAsync();
    }

    [Benchmark(Description = "no listener: publish check (per publish)")]
    public bool PublishCheck() => PublishTelemetry.IsOn(_channel.Core);

    [Benchmark(Description = "no listener: consume hand-out, Current, move-on (per message)")]
    public bool ProcessChecks()
    {
        ProcessTelemetry.Begin(_delivery, _consumer);
        var message = new Message(_delivery);
        ProcessTelemetry.Enter(message);
        ProcessTelemetry.End(_delivery);
        return message.IsValid;
    }

    [Benchmark(Description = "no listener: settlement check (per ack)")]
    public long SettleCheck() => SettleMetrics.Start(_channel.Core);
}
