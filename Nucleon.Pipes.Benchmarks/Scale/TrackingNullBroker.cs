using System.Diagnostics;
using System.Globalization;
using Nucleon.Pipes.Benchmarks.E2E;
using Nucleon.Pipes.Benchmarks.NullBroker;

namespace Nucleon.Pipes.Benchmarks.Scale;

/// <summary>
/// A null broker child process started with <c>--track</c>, and its stdin/stdout commands: it records, per
/// publisher, when the bytes arrived (<see cref="PublishTracker"/>), which is where they left the client.
/// </summary>
internal sealed class TrackingNullBroker : IDisposable
{
    private readonly Process _process;

    private TrackingNullBroker(Process process, string uri)
    {
        _process = process;
        Uri = uri;
    }

    public string Uri { get; }

    public int Pid => _process.Id;

    public static async Task<TrackingNullBroker> StartAsync()
    {
        var (process, uri) = await E2ERunner.StartNullBrokerAsync("--track");
        return new TrackingNullBroker(process, uri);
    }

    /// <summary>Clears the counts of the previous run.</summary>
    public async Task ResetAsync()
    {
        await CommandAsync("reset");
        string? line = await ReadLineAsync();
        if (line != "OK")
        {
            throw new InvalidOperationException($"null broker: unexpected answer to reset: {line}");
        }
    }

    /// <summary>
    /// When the last of each publisher's messages arrived, in ms after <paramref name="start"/> (a Stopwatch
    /// timestamp of this process). Throws unless publishers 0 to <paramref name="publishers"/> - 1 each arrived
    /// exactly <paramref name="perPublisher"/> times.
    /// </summary>
    public async Task<double[]> FinishTimesAsync(int publishers, long perPublisher, long start)
    {
        await CommandAsync("stats");
        string? header = await ReadLineAsync();
        if (header != $"STATS {Stopwatch.Frequency}")
        {
            throw new InvalidOperationException($"null broker: unexpected stats header (a different clock?): {header}");
        }

        var finish = new double[publishers];
        var counts = new long[publishers];
        while (await ReadLineAsync() is { } line && line != "END")
        {
            // STAT id count first last
            string[] f = line.Split(' ');
            int id = int.Parse(f[1], CultureInfo.InvariantCulture);
            if (id >= publishers)
            {
                throw new InvalidOperationException($"null broker: publisher {id} was not part of this run");
            }

            counts[id] = long.Parse(f[2], CultureInfo.InvariantCulture);
            finish[id] = Stopwatch.GetElapsedTime(start, long.Parse(f[4], CultureInfo.InvariantCulture)).TotalMilliseconds;
        }

        for (int id = 0; id < publishers; id++)
        {
            if (counts[id] != perPublisher)
            {
                throw new InvalidOperationException($"null broker: publisher {id} arrived {counts[id]} times, not {perPublisher}");
            }
        }

        return finish;
    }

    private async Task CommandAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
    }

    private async Task<string?> ReadLineAsync() =>
        await _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));

    public void Dispose()
    {
        E2ERunner.StopNullBroker(_process);
        _process.Dispose();
    }
}
