using System.Diagnostics;

namespace Nucleon.Pipes.Transport;

/// <summary>
/// The pause after which a wake-up counts as a lone one. The writer and the send loop both run inline on the caller's
/// thread after such a pause (a lone RPC or publish pays no thread-pool hop) and hand over to the thread pool within a
/// stream (so what piles up meanwhile leaves together).
/// </summary>
internal static class QuietSpell
{
    /// <summary>
    /// 10 µs: shorter than a loopback round trip (20-40 µs against a null broker, 60-120 µs against RabbitMQ), so a
    /// request/reply loop always runs inline (at 50 µs an RPC loop against the null broker handed every send to the
    /// pool: 2.9 pool items per round trip, now 1.6), and far longer than the gap between publishes in a loop (well
    /// under 1 µs).
    /// </summary>
    public static readonly long Ticks = Stopwatch.Frequency / 100_000;

    /// <summary>Records a wake-up at <paramref name="last"/>; true when the one before was at least a quiet spell ago.</summary>
    public static bool After(ref long last)
    {
        long now = Stopwatch.GetTimestamp();
        return now - Interlocked.Exchange(ref last, now) > Ticks;
    }
}
