using System.Diagnostics;
using System.Globalization;

namespace Nucleon.Pipes.Benchmarks.E2E;

/// <summary>One measured run of one workload row for one client.</summary>
internal sealed record Sample(
    double Seconds, long Messages, long Bytes, double ClientCpuMs, long AllocBytes, int Gen0, int Gen1, int Gen2, double ServerCpuMs,
    double P50Ms = double.NaN, double P99Ms = double.NaN, double MaxMs = double.NaN,
    long ThreadPoolItems = 0, long ContextSwitches = 0, double JitMs = 0)
{
    public double MsgsPerSec => Messages / Seconds;
    public double MBPerSec => Bytes / Seconds / (1024.0 * 1024.0);
    public double CpuUsPerMsg => ClientCpuMs * 1000.0 / Messages;
    public double AllocPerMsg => (double)AllocBytes / Messages;
    public double ServerCpuUsPerMsg => ServerCpuMs * 1000.0 / Messages;
    public double ThreadPoolItemsPerMsg => (double)ThreadPoolItems / Messages;
    public double ContextSwitchesPerMsg => (double)ContextSwitches / Messages;

    /// <summary>The share of the client's CPU time that went to the JIT compiler (tiering up) during the run.</summary>
    public double JitShare => ClientCpuMs > 0 ? JitMs / ClientCpuMs : 0;
}

/// <summary>What the measured body reports back.</summary>
internal readonly record struct Outcome(long Messages, long Bytes = 0, double[]? LatenciesMs = null);

internal static class Meter
{
    /// <summary>CPU time (ms) of another process from /proc/PID/stat (utime + stime); NaN when unknown.</summary>
    public static double ProcessCpuMs(int pid)
    {
        if (pid <= 0)
        {
            return double.NaN;
        }

        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state): utime is field 14, stime field 15.
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks * 1000.0 / 100.0; // CLK_TCK is 100 on Linux
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    public static async Task<Sample> RunAsync(int serverPid, Func<Task<Outcome>> body)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        long alloc0 = GC.GetTotalAllocatedBytes(true);
        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
        double s0 = ProcessCpuMs(serverPid);
        long tp0 = ThreadPool.CompletedWorkItemCount;
        long cs0 = ContextSwitches();
        var jit0 = System.Runtime.JitInfo.GetCompilationTime();
        AllocationSampler.Instance?.Start();
        InboxPeakSampler.Instance?.Start();
        long t0 = Stopwatch.GetTimestamp();

        var outcome = await body().ConfigureAwait(false);
        if (AllocationSampler.Instance is { } sampler)
        {
            Console.WriteLine("    sampled allocations by type (GCAllocationTick, ~100 KB granularity):");
            Console.WriteLine(sampler.Stop(outcome.Messages));
        }

        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        if (InboxPeakSampler.Instance is { } inbox)
        {
            Console.WriteLine($"    deepest consumer inbox: {inbox.Stop():N0} deliveries waiting");
        }

        double s1 = ProcessCpuMs(serverPid);
        long tp1 = ThreadPool.CompletedWorkItemCount;
        long cs1 = ContextSwitches();
        var jit1 = System.Runtime.JitInfo.GetCompilationTime();
        long alloc1 = GC.GetTotalAllocatedBytes(true);
        self.Refresh();
        var cpu1 = self.TotalProcessorTime;
        double p50 = double.NaN, p99 = double.NaN, max = double.NaN;
        if (outcome.LatenciesMs is { Length: > 0 } lat)
        {
            Array.Sort(lat);
            p50 = Percentile(lat, 0.50);
            p99 = Percentile(lat, 0.99);
            max = lat[^1];
        }

        return new Sample(seconds, outcome.Messages, outcome.Bytes, (cpu1 - cpu0).TotalMilliseconds, alloc1 - alloc0,
            GC.CollectionCount(0) - g0, GC.CollectionCount(1) - g1, GC.CollectionCount(2) - g2, s1 - s0, p50, p99, max, tp1 - tp0, cs1 - cs0,
            (jit1 - jit0).TotalMilliseconds);
    }

    /// <summary>Voluntary + involuntary context switches of this process so far (getrusage); 0 where unavailable.</summary>
    public static long ContextSwitches()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        var usage = default(RUsage);
        return GetRUsage(0, ref usage) == 0 ? usage.Nvcsw + usage.Nivcsw : 0;
    }

    // struct rusage on 64-bit Linux: two timevals, then 14 longs; the last two are nvcsw and nivcsw.
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UtimeSec, UtimeUsec, StimeSec, StimeUsec;
        public long Maxrss, Ixrss, Idrss, Isrss, Minflt, Majflt, Nswap, Inblock, Oublock, Msgsnd, Msgrcv, Nsignals, Nvcsw, Nivcsw;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
    private static extern int GetRUsage(int who, ref RUsage usage);

    public static double Percentile(double[] sorted, double p)
    {
        int i = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(i, 0, sorted.Length - 1)];
    }

    /// <summary>"median (min–max)" of <paramref name="values"/> in <paramref name="format"/>; "–" when there are none.</summary>
    public static string MedianAndRange(IEnumerable<double> values, string format)
    {
        var v = values.ToArray();
        string F(double x) => x.ToString(format, CultureInfo.InvariantCulture);
        return v.Length == 0 ? "–" : $"{F(Median(v))} ({F(v.Min())}–{F(v.Max())})";
    }

    public static double Median(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).OrderBy(x => x).ToArray();
        if (v.Length == 0)
        {
            return double.NaN;
        }

        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
    }
}
