using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Nucleon.Pipes.Tests.Integration.Observability;

/// <summary>
/// A <see cref="MeterListener"/> on the <c>Nucleon.Pipes</c> meter of a private <see cref="IMeterFactory"/>, so
/// tests running at the same time (on the static meter) cannot add to what it sees. Records every measurement
/// with its attributes; observable instruments are read on <see cref="Observe"/>.
/// </summary>
internal sealed class MetricsRecorder : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Recorded> _recorded = new();

    public MetricsRecorder()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Factory = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Nucleon.Pipes" && instrument.Meter.Scope is not null && ReferenceEquals(instrument.Meter.Scope, Factory))
            {
                listener.EnableMeasurementEvents(instrument);
                Instruments.Add(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => _recorded.Enqueue(new(i.Name, value, Tags(tags))));
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => _recorded.Enqueue(new(i.Name, value, Tags(tags))));
        _listener.Start();
    }

    public IMeterFactory Factory { get; }

    public ConcurrentBag<Instrument> Instruments { get; } = [];

    public IReadOnlyList<Recorded> All => [.. _recorded];

    /// <summary>Reads the observable instruments now; returns only what this reading produced.</summary>
    public IReadOnlyList<Recorded> Observe()
    {
        int before = _recorded.Count;
        _listener.RecordObservableInstruments();
        return [.. _recorded.Skip(before)];
    }

    public IEnumerable<Recorded> Named(string name) => _recorded.Where(r => r.Name == name);

    private static Dictionary<string, object?> Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var t in tags)
        {
            d[t.Key] = t.Value;
        }

        return d;
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }

    public sealed record Recorded(string Name, double Value, Dictionary<string, object?> Tags)
    {
        public object? Tag(string key) => Tags.GetValueOrDefault(key);
    }
}
