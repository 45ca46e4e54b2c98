using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Nucleon.Pipes.Benchmarks.E2E;

/// <summary>
/// <c>e2e --otel</c>: the OpenTelemetry SDK listening to both clients for the whole run, tracing always sampled
/// (Nucleon.Pipes and RabbitMQ.Client 7's publisher and subscriber sources) and the Nucleon.Pipes meter
/// (RabbitMQ.Client 7.2.2 has no meter), into in-memory exporters emptied after every client's run, so the
/// rows show what instrumentation costs each client per message when something listens.
/// </summary>
internal sealed class OtelListening : IDisposable
{
    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];
    private readonly TracerProvider _tracing;
    private readonly MeterProvider _meters;

    public OtelListening()
    {
        _tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource("Nucleon.Pipes", "RabbitMQ.Client.Publisher", "RabbitMQ.Client.Subscriber")
            .SetSampler(new AlwaysOnSampler())
            .AddInMemoryExporter(_spans)
            .Build()!;
        _meters = Sdk.CreateMeterProviderBuilder()
            .AddMeter("Nucleon.Pipes")
            .AddInMemoryExporter(_metrics)
            .Build()!;
    }

    public static OtelListening? Instance { get; set; }

    /// <summary>Spans exported since the last call (and forgets them, so the next run starts with an empty list).</summary>
    public int TakeSpans()
    {
        _tracing.ForceFlush();
        lock (_spans)
        {
            int n = _spans.Count;
            _spans.Clear();
            _metrics.Clear();
            return n;
        }
    }

    public void Dispose()
    {
        _tracing.Dispose();
        _meters.Dispose();
    }
}
