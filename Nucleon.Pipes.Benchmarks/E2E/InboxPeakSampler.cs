using System.Diagnostics.Metrics;

namespace Nucleon.Pipes.Benchmarks.E2E;

/// <summary>
/// Watches Nucleon.Pipes' <c>nucleon.pipes.consumer.inbox.depth</c> gauge during a run (polled every 2 ms on a
/// thread of its own) and reports the most deliveries that waited at once: whether a consume loop kept up with
/// the connection's reader or fell behind it. Enabled by <c>e2e --inbox-peak</c>; a diagnosis aid (the polling
/// costs a little CPU), not for figures.
/// </summary>
internal sealed class InboxPeakSampler : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _peak;
    private volatile bool _recording;
    private volatile bool _disposed;

    public InboxPeakSampler()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Nucleon.Pipes" && instrument.Name == "nucleon.pipes.consumer.inbox.depth")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            if (_recording && value > _peak)
            {
                _peak = value;
            }
        });
        _listener.Start();
        new Thread(Poll) { IsBackground = true, Name = "inbox-peak" }.Start();
    }

    public static InboxPeakSampler? Instance { get; set; }

    public void Start()
    {
        Volatile.Write(ref _peak, 0);
        _recording = true;
    }

    /// <summary>The deepest inbox seen since <see cref="Start"/>.</summary>
    public long Stop()
    {
        _recording = false;
        return Volatile.Read(ref _peak);
    }

    private void Poll()
    {
        while (!_disposed)
        {
            if (_recording)
            {
                _listener.RecordObservableInstruments();
            }

            Thread.Sleep(2);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _listener.Dispose();
    }
}
