using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Nucleon.Pipes.Benchmarks.NullBroker;

/// <summary>
/// Where the bytes arrive, per publisher (the scaling runs, <c>nullbroker --track</c>): a publish whose routing key
/// is <c>track.N</c> counts for publisher N once its body has arrived, stamped with the time its read buffer came in
/// (<see cref="Stopwatch.GetTimestamp"/>: CLOCK_MONOTONIC on Linux, so the runner in another process can compare
/// the stamps with its own). Each id is written by the read loop of the one connection whose channel uses it;
/// <see cref="Reset"/> and <see cref="Lines"/> are called between runs, while nothing is published.
/// </summary>
internal sealed class PublishTracker
{
    /// <summary>Ids 0 to MaxIds - 1 can be tracked.</summary>
    public const int MaxIds = 1 << 16;

    private static ReadOnlySpan<byte> Prefix => "track."u8;

    private readonly long[] _count = new long[MaxIds];
    private readonly long[] _first = new long[MaxIds];
    private readonly long[] _last = new long[MaxIds];

    /// <summary>The publisher id in a routing key <c>track.N</c>; -1 for any other key.</summary>
    public static int ParseId(ReadOnlySpan<byte> routingKey)
    {
        if (!routingKey.StartsWith(Prefix) || routingKey.Length == Prefix.Length || routingKey.Length > Prefix.Length + 5)
        {
            return -1;
        }

        int id = 0;
        foreach (byte b in routingKey[Prefix.Length..])
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return -1;
            }

            id = (id * 10) + (b - '0');
        }

        return id < MaxIds ? id : -1;
    }

    public void Record(int id, long timestamp)
    {
        if (_count[id]++ == 0)
        {
            _first[id] = timestamp;
        }

        _last[id] = timestamp;
    }

    public void Reset()
    {
        Array.Clear(_count);
        Array.Clear(_first);
        Array.Clear(_last);
    }

    /// <summary>One line per publisher seen since the last reset: <c>STAT id count firstTimestamp lastTimestamp</c>.</summary>
    public string Lines()
    {
        var sb = new StringBuilder();
        for (int id = 0; id < MaxIds; id++)
        {
            long count = Volatile.Read(ref _count[id]);
            if (count > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"STAT {id} {count} {Volatile.Read(ref _first[id])} {Volatile.Read(ref _last[id])}\n");
            }
        }

        return sb.ToString();
    }
}
