using System.Diagnostics.Metrics;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Nucleon.Pipes.Diagnostics.Metrics;

/// <summary>
/// The <c>Nucleon.Pipes</c> meter and its instruments: one set per meter (the static default, or one per
/// <see cref="IMeterFactory"/>), shared by every connection created with it. Per-message instruments are
/// counters and histograms that callers touch only when <c>Enabled</c>; everything else is observable and
/// reads counters the connections keep anyway, so nothing runs on the hot path until a listener collects.
/// </summary>
internal sealed class PipesMetrics
{
    public const string MeterName = "Nucleon.Pipes";

    private static readonly string? Version = typeof(PipesMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
    private static readonly Lazy<PipesMetrics> Default = new(() => new PipesMetrics(new Meter(MeterName, Version)));
    private static readonly ConditionalWeakTable<IMeterFactory, PipesMetrics> ByFactory = new();

    private readonly object _lock = new();
    private readonly List<ConnectionMetrics> _connections = [];
    private Retired _retired;

    private PipesMetrics(Meter meter)
    {
        Meter = meter;
        SentMessages = meter.CreateCounter<long>("messaging.client.sent.messages", "{message}",
            "Messages the client attempted to publish (with error.type when the publish failed or, confirmed, was not confirmed).");
        ConsumedMessages = meter.CreateCounter<long>("messaging.client.consumed.messages", "{message}",
            "Messages handed to the application by a consumer.");
        OperationDuration = meter.CreateHistogram<double>("messaging.client.operation.duration", "s",
            "Duration of a confirmed publish (until the broker's confirm) and of a settlement (ack, nack, reject) until it is handed to the connection.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        ProcessDuration = meter.CreateHistogram<double>("messaging.process.duration", "s",
            "Time the application spent on a consumed message: from its hand-out by the consume loop until it was settled or the loop moved on.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        Nacks = meter.CreateCounter<long>("nucleon.pipes.publish.nacks", "{message}", "Confirmed publishes the broker nacked.");
        Returns = meter.CreateCounter<long>("nucleon.pipes.publish.returns", "{message}", "Mandatory publishes the broker returned as unroutable.");

        meter.CreateObservableUpDownCounter("nucleon.pipes.connections", () => Sum(static c => c.OpenConnections()), "{connection}",
            "Open connections to the broker (1 per connected AmqpConnection).");
        meter.CreateObservableUpDownCounter("nucleon.pipes.channels", () => Sum(static c => c.OpenChannels()), "{channel}",
            "Channels open on the current connections.");
        meter.CreateObservableCounter("nucleon.pipes.reconnects", () => Sum(static c => c.Reconnects(), static r => r.Reconnects), "{reconnect}",
            "Connections re-established after a loss (generations after the first).");
        meter.CreateObservableGauge("nucleon.pipes.connection.generation", ObserveGenerations, "{generation}",
            "The connection generation: 1 for the first connection, +1 for each reconnect (per connection).");
        meter.CreateObservableUpDownCounter("nucleon.pipes.connections.blocked", () => Sum(static c => c.Blocked()), "{connection}",
            "Connections whose publishers the broker blocks (memory or disk alarm).");
        meter.CreateObservableUpDownCounter("nucleon.pipes.publish.confirms.outstanding", () => Sum(static c => c.ConfirmsOutstanding()), "{message}",
            "Confirmed publishes awaiting the broker's ack or nack.");
        meter.CreateObservableGauge("nucleon.pipes.consumer.inbox.depth", ObserveInboxes, "{message}",
            "Deliveries received and waiting in consumer inboxes for the consume loop (per queue).");
        meter.CreateObservableCounter("nucleon.pipes.bytes.sent", () => Sum(static c => c.BytesSent(), static r => r.BytesSent), "By",
            "Bytes the client handed to the socket.");
        meter.CreateObservableCounter("nucleon.pipes.bytes.received", () => Sum(static c => c.BytesReceived(), static r => r.BytesReceived), "By",
            "Bytes the client read from the socket.");
    }

    /// <summary>The attribute every measurement carries.</summary>
    public static KeyValuePair<string, object?> SystemTag => new(MessagingAttributes.System, MessagingAttributes.SystemValue);

    // Messaging operations take from well under a millisecond (a publish into the socket) to seconds (a slow handler).
    private static readonly double[] DurationBuckets = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public Meter Meter { get; }

    public Counter<long> SentMessages { get; }

    public Counter<long> ConsumedMessages { get; }

    public Histogram<double> OperationDuration { get; }

    public Histogram<double> ProcessDuration { get; }

    public Counter<long> Nacks { get; }

    public Counter<long> Returns { get; }

    /// <summary>The instruments of the meter <paramref name="factory"/> creates, or of the static meter when it is null.</summary>
    public static PipesMetrics For(IMeterFactory? factory) =>
        factory is null
            ? Default.Value
            : ByFactory.GetValue(factory, static f => new PipesMetrics(f.Create(new MeterOptions(MeterName) { Version = Version })));

    /// <summary>A connection that has started: the observable instruments report it until <see cref="Remove"/>.</summary>
    public void Add(ConnectionMetrics connection)
    {
        lock (_lock)
        {
            if (!_connections.Contains(connection))
            {
                _connections.Add(connection);
            }
        }
    }

    /// <summary>A connection closed for good: its monotonic counts stay in the totals.</summary>
    public void Remove(ConnectionMetrics connection)
    {
        lock (_lock)
        {
            if (_connections.Remove(connection))
            {
                _retired = new Retired(
                    _retired.Reconnects + connection.Reconnects(),
                    _retired.BytesSent + connection.BytesSent(),
                    _retired.BytesReceived + connection.BytesReceived());
            }
        }
    }

    private ConnectionMetrics[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _connections];
        }
    }

    // Collection time only (never the hot path). One measurement per attribute set: exporters keep only
    // the last of several with the same attributes, so the connections are summed here. The retired
    // counts are read with the same snapshot, so a connection closing meanwhile is counted once.
    private Measurement<long> Sum(Func<ConnectionMetrics, long> read, Func<Retired, long>? retired = null)
    {
        ConnectionMetrics[] connections;
        long total;
        lock (_lock)
        {
            connections = [.. _connections];
            total = retired?.Invoke(_retired) ?? 0;
        }

        foreach (var connection in connections)
        {
            total += read(connection);
        }

        return new Measurement<long>(total, SystemTag);
    }

    private List<Measurement<long>> ObserveGenerations() => [.. Snapshot().Select(static c => c.Generation())];

    private List<Measurement<long>> ObserveInboxes()
    {
        var byQueue = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var connection in Snapshot())
        {
            connection.InboxDepths(byQueue);
        }

        return [.. byQueue.Select(static q => new Measurement<long>(q.Value, SystemTag, new(MessagingAttributes.DestinationName, q.Key)))];
    }

    private readonly record struct Retired(long Reconnects, long BytesSent, long BytesReceived);
}
