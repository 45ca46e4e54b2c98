using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Nucleon.Pipes.Benchmarks.E2E;

namespace Nucleon.Pipes.Benchmarks.Scale;

/// <summary>
/// <c>scaling [--quick|--smoke] [--runs N] [--messages N] [--uri amqp://...] [--null-only|--broker-only] [--out DIR]</c>:
/// how cost grows with channels and connections (issue 14). On a null broker that records when each channel's bytes
/// arrive (<c>nullbroker --track</c>): 1, 10, 100 and 1,000 channels on one connection and 1 to 16 connections, the
/// same total of unconfirmed 32-byte publishes split evenly, both clients alternating; aggregate msgs/s where the
/// bytes arrive and the spread of the channels' finish times. Against RabbitMQ (a private node on port 5696 unless
/// --uri is given): 1,000 tasks each publishing on its own channel, with when each task's last publish call returned
/// and when its round trip after it did. Writes benchmarks/scaling.md (or DIR/scaling.md).
/// </summary>
internal static class ScalingRunner
{
    private static readonly (int Connections, int Channels)[] Steps = [(1, 1), (1, 10), (1, 100), (1, 1000), (2, 1), (4, 1), (8, 1), (16, 1)];

    private const string BrokerArgs = "--port 5696 --dir /tmp/scaling-broker";

    public static async Task<int> MainAsync(string[] args)
    {
        int total = 1_000_000, runs = 3, brokerChannels = 1000, brokerPerChannel = 1000;
        string mode = "full";
        string? uri = null, outDir = null;
        bool nullSteps = true, brokerStep = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": mode = "quick"; total = 100_000; brokerPerChannel = 100; break;
                // Tiny counts and one run: proves the runner and the null broker's counting work (tests); numbers mean nothing.
                case "--smoke": mode = "smoke"; total = 2_000; runs = 1; brokerChannels = 10; brokerPerChannel = 10; break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--messages": total = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--uri": uri = args[++i]; break;
                case "--null-only": brokerStep = false; break;
                case "--broker-only": nullSteps = false; break;
                case "--out": outDir = args[++i]; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        var clients = new Func<IScalingClient>[] { () => new NucleonScalingClient(), () => new RabbitScalingClient() };
        var md = new StringBuilder();
        md.AppendLine("# Scaling: channels and connections (issue 14)");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}; {RuntimeInformation.FrameworkDescription}; {mode} run");
        md.AppendLine(CultureInfo.InvariantCulture, $"- command: `dotnet run -c Release --project Nucleon.Pipes.Benchmarks -- scaling {string.Join(' ', args)}`");
        md.AppendLine(CultureInfo.InvariantCulture, $"- {runs} measured run{(runs == 1 ? "" : "s")} per client and step after a warm-up run (a fifth of the messages; on the null broker, both clients first publish the full count on 1 and on 1,000 channels, unrecorded), Nucleon.Pipes and RabbitMQ.Client 7.2.2 alternating; cells are the median of the runs, with (min–max) where given. Every channel is opened before the clock starts; then all start at once, each awaiting one unconfirmed 32-byte publish after another, then one round trip (a passive queue.declare) on its channel.");
        if (nullSteps)
        {
            using var tracker = await TrackingNullBroker.StartAsync();
            Console.WriteLine($"null broker (tracking) at {tracker.Uri}; {total:N0} messages per step");
            var rows = new List<(string Step, string Client, List<PublisherRun> Runs)>();
            // The tiered JIT first: both clients publish the full count on 1 and on 1,000 channels, unrecorded.
            foreach (int channels in new[] { 1, 1000 })
            {
                string[] keys = Enumerable.Range(0, channels).Select(i => $"track.{i}").ToArray();
                await RunStepAsync(clients, "JIT warm-up", tracker.Uri, 1, channels, total / channels, keys, tracker, runs: 0, warmUpPer: total / channels);
            }

            foreach (var (connections, channels) in Steps)
            {
                int n = connections * channels;
                int per = total / n;
                string[] keys = Enumerable.Range(0, n).Select(i => $"track.{i}").ToArray();
                string step = connections == 1 ? $"1 connection × {channels:N0} channel{(channels == 1 ? "" : "s")}" : $"{connections} connections × 1 channel";
                var measured = await RunStepAsync(clients, step, tracker.Uri, connections, channels, per, keys, tracker, runs, Math.Max(1, per / 5));
                rows.AddRange(measured.Select(m => (step, m.Client, m.Runs)));
            }

            md.AppendLine();
            md.AppendLine("## On the null broker: where the bytes arrive");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"{total:N0} messages per step, split evenly between the channels. The null broker (a separate process) stamps each channel's messages as they arrive, so a channel's finish time is when its last message reached the server, not when its last publish call returned; msgs/s is all messages over the last channel's finish. \"vs 1 channel\" is that client's msgs/s over its own at 1 connection × 1 channel (issue 14 asks ≥ 80 % at 1,000 channels).");
            md.AppendLine();
            md.AppendLine("| step | client | msgs/s where the bytes arrive | vs 1 channel | channel finish at the server (ms): first / p50 / p99 / last | last / first | last publish call returned (ms): first / last | client CPU µs/msg |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var (step, client, list) in rows)
            {
                double baseRate = Meter.Median(rows.First(r => r.Client == client).Runs.Select(r => r.MsgsPerSec));
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {step} | {client} | {Meter.MedianAndRange(list.Select(r => r.MsgsPerSec), "N0")} | {Meter.Median(list.Select(r => r.MsgsPerSec)) / baseRate:P0} | {Spread(list, r => r.FinishMs)} | {Ratio(list, r => r.FinishMs)} | {Ends(list, r => r.ReturnedMs)} | {Meter.Median(list.Select(r => r.CpuUsPerMsg)):N2} |");
            }
        }

        if (brokerStep)
        {
            string repo = E2ERunner.FindRepoRoot();
            bool startedBroker = false;
            try
            {
                if (uri is null)
                {
                    startedBroker = true; // set first: a node that failed half-way through starting is stopped too
                    uri = E2ERunner.RunScript(repo, "scripts/broker.sh", $"{BrokerArgs} start").Trim().Split('\n')[^1].Trim();
                }

                await new BenchContext { Uri = uri, NullTarget = false, ServerPid = 0, Scale = 1 }.PrepareBrokerAsync();
                string server = await E2ERunner.ServerVersionAsync(uri);
                Console.WriteLine($"{server} at {uri}: {brokerChannels:N0} channels × {brokerPerChannel:N0} messages");
                string[] keys = Enumerable.Repeat(BenchContext.PublishQueue, brokerChannels).ToArray();
                string step = $"{brokerChannels:N0} channels × {brokerPerChannel:N0}";
                var measured = await RunStepAsync(clients, step, uri, 1, brokerChannels, brokerPerChannel, keys, null, runs, Math.Max(1, brokerPerChannel / 5));
                md.AppendLine();
                md.AppendLine(CultureInfo.InvariantCulture, $"## Against {server}: {brokerChannels:N0} tasks × {brokerPerChannel:N0} messages, each on its own channel");
                md.AppendLine();
                md.AppendLine(CultureInfo.InvariantCulture, $"One connection, {brokerChannels:N0} channels, each task publishing {brokerPerChannel:N0} unconfirmed 32-byte messages to `{BenchContext.PublishQueue}` (x-max-length 10,000), then one round trip on its channel. The round trip returns once the broker has processed every earlier publish of that channel, so its time is when the channel's messages were through; msgs/s is all messages over the last round trip.");
                md.AppendLine();
                md.AppendLine("| client | msgs/s (all round trips back) | last publish call returned (ms): first / p50 / p99 / last | last / first | round trip back (ms): first / p50 / p99 / last | last / first | client CPU µs/msg |");
                md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
                foreach (var (client, list) in measured)
                {
                    md.AppendLine(CultureInfo.InvariantCulture,
                        $"| {client} | {Meter.MedianAndRange(list.Select(r => r.MsgsPerSec), "N0")} | {Spread(list, r => r.ReturnedMs)} | {Ratio(list, r => r.ReturnedMs)} | {Spread(list, r => r.RoundTripMs)} | {Ratio(list, r => r.RoundTripMs)} | {Meter.Median(list.Select(r => r.CpuUsPerMsg)):N2} |");
                }
            }
            finally
            {
                if (startedBroker)
                {
                    Console.WriteLine(E2ERunner.RunScript(repo, "scripts/broker.sh", $"{BrokerArgs} stop"));
                }
            }
        }

        string text = md.ToString();
        Console.WriteLine();
        Console.WriteLine(text);
        string dir = outDir ?? Path.Combine(E2ERunner.FindRepoRoot(), "benchmarks");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "scaling.md");
        await File.WriteAllTextAsync(path, text + MarkdownNotes.KeptFrom(path));
        Console.WriteLine($"wrote {path}");
        return 0;
    }

    /// <summary>A warm-up run (<paramref name="warmUpPer"/> messages per channel), then <paramref name="runs"/> runs, the clients alternating.</summary>
    private static async Task<List<(string Client, List<PublisherRun> Runs)>> RunStepAsync(
        Func<IScalingClient>[] clients, string step, string uri, int connections, int channels, int per, string[] keys, TrackingNullBroker? tracker, int runs, int warmUpPer)
    {
        var result = new List<(string Client, List<PublisherRun> Runs)>();
        for (int run = 0; run <= runs; run++)
        {
            for (int c = 0; c < clients.Length; c++)
            {
                await using var client = clients[c]();
                await client.OpenAsync(uri, connections, channels);
                var r = await PublisherRun.RunAsync(client, run == 0 ? warmUpPer : per, keys, tracker);
                var finish = CompletionSpread.Of(r.FinishMs);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {step,-28} {client.Name,-16} {(run == 0 ? "warm-up" : $"run {run}"),-8} {r.MsgsPerSec,11:N0} msg/s  finish first {finish.First,8:N1} p50 {finish.P50,8:N1} p99 {finish.P99,8:N1} last {finish.Last,8:N1} ms  calls returned last {r.ReturnedMs.Max(),8:N1} ms  {r.CpuUsPerMsg:N2} µs CPU/msg"));
                if (run == 0)
                {
                    continue;
                }

                if (result.Count <= c)
                {
                    result.Add((client.Name, []));
                }

                result[c].Runs.Add(r);
            }
        }

        return result;
    }

    /// <summary>Medians over the runs of first / p50 / p99, and the last with its (min–max).</summary>
    private static string Spread(List<PublisherRun> runs, Func<PublisherRun, double[]> times)
    {
        var s = runs.Select(r => CompletionSpread.Of(times(r))).ToArray();
        return string.Create(CultureInfo.InvariantCulture,
            $"{Meter.Median(s.Select(x => x.First)):N1} / {Meter.Median(s.Select(x => x.P50)):N1} / {Meter.Median(s.Select(x => x.P99)):N1} / {Meter.MedianAndRange(s.Select(x => x.Last), "N1")}");
    }

    private static string Ratio(List<PublisherRun> runs, Func<PublisherRun, double[]> times) =>
        Meter.Median(runs.Select(r => CompletionSpread.Of(times(r))).Select(x => x.Last / x.First)).ToString("N1", CultureInfo.InvariantCulture);

    private static string Ends(List<PublisherRun> runs, Func<PublisherRun, double[]> times)
    {
        var s = runs.Select(r => CompletionSpread.Of(times(r))).ToArray();
        return string.Create(CultureInfo.InvariantCulture, $"{Meter.Median(s.Select(x => x.First)):N1} / {Meter.Median(s.Select(x => x.Last)):N1}");
    }
}
