using System.Collections.Concurrent;
using System.Diagnostics;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Cluster;

/// <summary>
/// Publishes numbered persistent messages to a queue the way the README's "publisher that loses nothing"
/// does: a pooled confirm channel per batch, an id counts as confirmed only when its publish completed, and
/// an id whose publish threw is published again in a later batch. Around a fault it measures how long until a
/// publish started after the fault is confirmed, and the longest time without any confirm.
/// </summary>
internal sealed class ConfirmedPublisher(AmqpConnection connection, string queue, int maxIds, int batch = 20)
{
    private long _faultTimestamp;
    private long _resumedTimestamp;
    private long _watchGapsFrom;
    private long _lastConfirmTimestamp;
    private long _longestGapTicks;

    /// <summary>Ids whose publish completed without exception.</summary>
    public ConcurrentDictionary<long, byte> Confirmed { get; } = new();

    /// <summary>Failed publishes (then republished) and rents, by exception type.</summary>
    public ConcurrentDictionary<string, int> Failures { get; } = new();

    /// <summary>Failures after <see cref="MarkFault"/> only.</summary>
    public ConcurrentDictionary<string, int> FailuresAfterFault { get; } = new();

    /// <summary>From <see cref="MarkFault"/> to the first confirm of a publish that started after it; null until then.</summary>
    public TimeSpan? ResumedAfter
    {
        get
        {
            long fault = Volatile.Read(ref _faultTimestamp), resumed = Volatile.Read(ref _resumedTimestamp);
            return fault == 0 || resumed == 0 ? null : Stopwatch.GetElapsedTime(fault, resumed);
        }
    }

    /// <summary>
    /// Marks the moment the fault is in effect: call it once the node is known dead, not before the kill
    /// (publishes started while the kill command is still running would count as resumed).
    /// </summary>
    public void MarkFault() => Volatile.Write(ref _faultTimestamp, Stopwatch.GetTimestamp());

    /// <summary>Starts watching for the longest time without a confirm (call just before the kill command).</summary>
    public void WatchConfirmGaps() => Volatile.Write(ref _watchGapsFrom, Stopwatch.GetTimestamp());

    /// <summary>
    /// The longest time between two confirms (or from the last confirm before it to now) that ended after
    /// <see cref="WatchConfirmGaps"/>: the stall a publisher saw around the fault, kill command included.
    /// </summary>
    public TimeSpan LongestConfirmGap
    {
        get
        {
            long longest = Volatile.Read(ref _longestGapTicks), last = Volatile.Read(ref _lastConfirmTimestamp);
            long open = Volatile.Read(ref _watchGapsFrom) != 0 && last != 0 ? Stopwatch.GetTimestamp() - last : 0;
            return Stopwatch.GetElapsedTime(0, Math.Max(longest, open));
        }
    }

    public string FailureSummary =>
        $"failures {Describe(Failures)}; after the fault {Describe(FailuresAfterFault)}";

    /// <summary>Publishes until <paramref name="stop"/>; new ids end at <c>maxIds</c> (failed ids are still retried).</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        long next = 0;
        var retry = new Queue<long>();
        while (!stop.IsCancellationRequested)
        {
            var ids = new List<long>(batch);
            while (ids.Count < batch && retry.Count > 0)
            {
                ids.Add(retry.Dequeue());
            }

            while (ids.Count < batch && next < maxIds)
            {
                ids.Add(next++);
            }

            if (ids.Count == 0)
            {
                await Task.Delay(50, CancellationToken.None);
                continue;
            }

            long started = Stopwatch.GetTimestamp();
            MessageChannel channel;
            try
            {
                channel = await connection.RentChannelAsync(Confirming, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (AmqpException ex)
            {
                RecordFailure("rent: " + ex.GetType().Name, started);
                ids.ForEach(retry.Enqueue);
                continue;
            }

            await using (channel)
            {
                var pending = ids.Select(id => (id, task: channel.PublishAsync("", queue, Body(id), Persistent, cancellationToken: stop).AsTask())).ToList();
                foreach (var (id, task) in pending)
                {
                    try
                    {
                        await task;
                        Confirmed.TryAdd(id, 0);
                        RecordConfirm(started);
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        // Stopping: outcome unknown, so not counted as confirmed.
                    }
                    catch (AmqpException ex)
                    {
                        // Lost connection, or a nack while the quorum queue recovers: publish it again.
                        RecordFailure(ex.GetType().Name, started);
                        retry.Enqueue(id);
                    }
                }
            }
        }
    }

    private void RecordConfirm(long started)
    {
        // Only the publishing loop writes these; the test thread reads them.
        long now = Stopwatch.GetTimestamp(), previous = _lastConfirmTimestamp;
        if (Volatile.Read(ref _watchGapsFrom) != 0 && previous != 0 && now - previous > _longestGapTicks)
        {
            Volatile.Write(ref _longestGapTicks, now - previous);
        }

        Volatile.Write(ref _lastConfirmTimestamp, now);
        long fault = Volatile.Read(ref _faultTimestamp);
        if (fault != 0 && started > fault)
        {
            Interlocked.CompareExchange(ref _resumedTimestamp, Stopwatch.GetTimestamp(), 0);
        }
    }

    private void RecordFailure(string kind, long started)
    {
        Failures.AddOrUpdate(kind, 1, (_, n) => n + 1);
        long fault = Volatile.Read(ref _faultTimestamp);
        if (fault != 0 && started > fault)
        {
            FailuresAfterFault.AddOrUpdate(kind, 1, (_, n) => n + 1);
        }
    }

    private static string Describe(ConcurrentDictionary<string, int> failures) =>
        failures.IsEmpty ? "none" : string.Join(", ", failures.Select(f => $"{f.Key} x{f.Value}"));
}
