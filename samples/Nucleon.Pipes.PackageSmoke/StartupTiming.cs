using System.Globalization;

namespace Nucleon.Pipes.PackageSmoke;

/// <summary>
/// Milestones in milliseconds since the process was launched, for scripts/aot-smoke.sh's start-up
/// comparison of the Native AOT and JIT builds: the script puts its launch time (Unix microseconds)
/// in SMOKE_LAUNCH_UNIX_US. Without it nothing is recorded or printed.
/// </summary>
internal static class StartupTiming
{
    private static readonly long? LaunchUnixMicroseconds =
        long.TryParse(Environment.GetEnvironmentVariable("SMOKE_LAUNCH_UNIX_US"), NumberStyles.None, CultureInfo.InvariantCulture, out long launch)
            ? launch : null;

    private static readonly List<string> Marks = [];

    /// <summary>Records <paramref name="milestone"/> at the current time.</summary>
    public static void Mark(string milestone)
    {
        if (LaunchUnixMicroseconds is { } launch)
        {
            long nowUs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
            Marks.Add(string.Create(CultureInfo.InvariantCulture, $"{milestone}={(nowUs - launch) / 1000.0:F1}"));
        }
    }

    /// <summary>Prints the milestones on one line: <c>package-smoke: timing main=… connected=… (ms since launch)</c>.</summary>
    public static void Print()
    {
        if (Marks.Count > 0)
        {
            Console.WriteLine($"package-smoke: timing {string.Join(' ', Marks)} (ms since launch)");
        }
    }
}
