using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Nucleon.Pipes.Benchmarks.E2E;

/// <summary>
/// A poor man's allocation profiler (no dotnet-trace on the machine): listens to the runtime's GCAllocationTick
/// events (one per ~100 KB allocated, with the type of the object that crossed the threshold) and sums the bytes
/// per type. Enabled by <c>e2e --alloc-profile</c>; it allocates itself, so its runs are for diagnosis, not numbers.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();

    public static AllocationSampler? Instance { get; set; }

    public volatile bool Recording;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!Recording || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
        {
            return;
        }

        int ti = e.PayloadNames.IndexOf("TypeName");
        int ai = e.PayloadNames.IndexOf("AllocationAmount64");
        if (ti < 0 || ai < 0)
        {
            return;
        }

        string type = e.Payload![ti] as string ?? "?";
        int si = e.PayloadNames.IndexOf("ObjectSize");
        if (si >= 0 && type == "System.Byte[]")
        {
            // Arrays by size class: which pool ran dry.
            long size = Convert.ToInt64(e.Payload[si], System.Globalization.CultureInfo.InvariantCulture);
            type += $" (~{(size <= 0 ? 0 : 1L << (int)Math.Ceiling(Math.Log2(size))):N0} B)";
        }

        long amount = Convert.ToInt64(e.Payload[ai], System.Globalization.CultureInfo.InvariantCulture);
        _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    public void Start()
    {
        _bytes.Clear();
        Recording = true;
    }

    public string Stop(long messages)
    {
        Recording = false;
        var top = _bytes.OrderByDescending(kv => kv.Value).Take(10)
            .Select(kv => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"      {kv.Value / (double)messages,8:N1} B/msg  {kv.Key}"));
        return string.Join(Environment.NewLine, top);
    }
}
