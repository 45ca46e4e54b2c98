using System.Collections.Concurrent;
using System.Diagnostics;

namespace Nucleon.Pipes.Tests.Integration.Observability;

/// <summary>
/// An <see cref="ActivityListener"/> on the given sources that samples only the traces its tests start (roots
/// from <see cref="TestSource"/>) and what descends from or links to them. Tests running at the same time in
/// other collections publish and consume unobserved: no span of theirs is recorded here, and no trace context
/// is written into their messages' headers.
/// </summary>
internal sealed class ActivityRecorder : IDisposable
{
    public static readonly ActivitySource TestSource = new("Nucleon.Pipes.Tests.Observability");

    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ConcurrentQueue<Activity> _started = new();
    private readonly ConcurrentDictionary<ActivityTraceId, bool> _traces = new();

    public ActivityRecorder(params string[] sources)
    {
        var names = new HashSet<string>(sources.Append(TestSource.Name), StringComparer.Ordinal);
        _listener = new ActivityListener
        {
            ShouldListenTo = s => names.Contains(s.Name),
            Sample = Sample,
            ActivityStarted = a => _started.Enqueue(a),
            ActivityStopped = a => _stopped.Enqueue(a),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    private ActivitySamplingResult Sample(ref ActivityCreationOptions<ActivityContext> options)
    {
        if (options.Source == TestSource)
        {
            _traces[options.TraceId] = true;
            return ActivitySamplingResult.AllDataAndRecorded;
        }

        if (_traces.ContainsKey(options.Parent.TraceId))
        {
            return ActivitySamplingResult.AllDataAndRecorded;
        }

        if (options.Links is { } links)
        {
            foreach (var link in links)
            {
                if (_traces.ContainsKey(link.Context.TraceId))
                {
                    return ActivitySamplingResult.AllDataAndRecorded;
                }
            }
        }

        return ActivitySamplingResult.None;
    }

    /// <summary>Stopped activities in <paramref name="trace"/> or linked to it.</summary>
    public IReadOnlyList<Activity> Stopped(ActivityTraceId trace) =>
        [.. _stopped.Where(a => a.TraceId == trace || a.Links.Any(l => l.Context.TraceId == trace))];

    /// <summary>Started activities in <paramref name="trace"/> or linked to it.</summary>
    public IReadOnlyList<Activity> Started(ActivityTraceId trace) =>
        [.. _started.Where(a => a.TraceId == trace || a.Links.Any(l => l.Context.TraceId == trace))];

    /// <summary>Waits (bounded) until <paramref name="count"/> activities of <paramref name="trace"/> matching <paramref name="filter"/> have stopped.</summary>
    public async Task<IReadOnlyList<Activity>> WaitStoppedAsync(ActivityTraceId trace, Func<Activity, bool> filter, int count, CancellationToken ct)
    {
        while (true)
        {
            var found = Stopped(trace).Where(filter).ToList();
            if (found.Count >= count)
            {
                return found;
            }

            await Task.Delay(20, ct);
        }
    }

    public void Dispose() => _listener.Dispose();
}
