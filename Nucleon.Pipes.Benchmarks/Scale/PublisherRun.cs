using System.Diagnostics;
using Nucleon.Pipes.Benchmarks.E2E;

namespace Nucleon.Pipes.Benchmarks.Scale;

/// <summary>
/// One run of a scaling step: every channel of a client publishes its share at once, one awaited publish after
/// another, then makes one round trip. Per channel (ms after the start): when its last publish call returned, when
/// its round trip returned, and, on the tracking null broker, when its last message arrived there.
/// </summary>
internal sealed record PublisherRun(long Messages, double[] ReturnedMs, double[] RoundTripMs, double[]? ArrivedMs, double CpuUsPerMsg)
{
    /// <summary>When each channel was done where it counts: its last message's arrival at the null broker, else its round trip.</summary>
    public double[] FinishMs => ArrivedMs ?? RoundTripMs;

    public double MsgsPerSec => Messages / (FinishMs.Max() / 1000.0);

    public static async Task<PublisherRun> RunAsync(IScalingClient client, int perChannel, string[] routingKeys, TrackingNullBroker? tracker)
    {
        int n = client.Count;
        if (tracker is not null)
        {
            await tracker.ResetAsync();
        }

        var returned = new double[n];
        var roundTrip = new double[n];
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long start = 0; // set before go completes, which every publisher awaits
        var tasks = new Task[n];
        for (int i = 0; i < n; i++)
        {
            int id = i;
            tasks[i] = Task.Run(async () =>
            {
                await go.Task;
                string key = routingKeys[id];
                for (int k = 0; k < perChannel; k++)
                {
                    await client.PublishAsync(id, key);
                }

                returned[id] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                await client.RoundTripAsync(id);
                roundTrip[id] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            });
        }

        var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        start = Stopwatch.GetTimestamp();
        go.SetResult();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(5));
        self.Refresh();
        long messages = (long)n * perChannel;
        double cpuUs = (self.TotalProcessorTime - cpu0).TotalMicroseconds / messages;
        double[]? arrived = tracker is null ? null : await tracker.FinishTimesAsync(n, perChannel, start);
        return new PublisherRun(messages, returned, roundTrip, arrived, cpuUs);
    }
}

/// <summary>First, median, 99th percentile and last of per-channel completion times (ms).</summary>
internal readonly record struct CompletionSpread(double First, double P50, double P99, double Last)
{
    public static CompletionSpread Of(double[] ms)
    {
        var sorted = ms.Order().ToArray();
        return new CompletionSpread(sorted[0], Meter.Percentile(sorted, 0.50), Meter.Percentile(sorted, 0.99), sorted[^1]);
    }
}
