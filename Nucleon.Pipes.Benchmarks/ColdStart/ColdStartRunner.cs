using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Nucleon.Pipes.Benchmarks.E2E;

namespace Nucleon.Pipes.Benchmarks.ColdStart;

/// <summary>
/// <c>coldstart [--r2r DIR] [--runs N] [--only a,b] [--smoke] [--out DIR]</c>: the first run of each workload in a
/// fresh process (issue 14), for both clients, under runtime settings an application can choose: the default tiered
/// JIT, TieredPGO off, tiered compilation off, and (given <c>--r2r</c>, the directory of this program published with
/// <c>-p:PublishReadyToRun=true</c>) ReadyToRun code, with and without TieredPGO. Each child process connects to a
/// shared null broker and runs one workload three times at the e2e runner's quick size (counts ÷ 10): run 1 is the
/// cold figure, run 3 shows where the process is heading. Writes benchmarks/cold-start.md (or DIR/cold-start.md).
/// See scripts/cold-start.sh, which publishes both builds the same way and runs this.
/// </summary>
internal static class ColdStartRunner
{
    private const int RunsPerChild = 3;

    private static readonly string[] DefaultWorkloads = ["publish", "publish-confirm", "consume", "consume-autoack", "rpc"];

    private static readonly string[] Clients = ["nucleon", "rabbit"];

    private sealed record Config(string Name, bool ReadyToRun, params (string Key, string Value)[] Environment);

    /// <summary>One child process: per in-process run, msgs/s and client CPU µs/msg; and ms from process start to the end of run 1.</summary>
    private sealed record ChildResult(double[] MsgsPerSec, double[] CpuUsPerMsg, double StartToFirstRunMs);

    public static async Task<int> MainAsync(string[] args)
    {
        string? r2r = null, outDir = null, uri = null;
        int runs = 3, divisor = 10;
        string[] workloads = DefaultWorkloads;
        string[]? child = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--child": child = [args[++i], args[++i]]; break; // internal: WORKLOAD CLIENT, with --uri and --divisor
                case "--uri": uri = args[++i]; break;
                case "--divisor": divisor = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--r2r": r2r = Path.GetFullPath(args[++i]); break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--only": workloads = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                // Tiny counts, one repetition: proves the runner works (tests); numbers mean nothing.
                case "--smoke": runs = 1; divisor = 1000; break;
                case "--out": outDir = args[++i]; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        if (child is not null)
        {
            return await ChildAsync(child[0], child[1], uri ?? throw new ArgumentException("--child needs --uri"), divisor);
        }

        var configs = new List<Config>
        {
            new("JIT, default (tiered, TieredPGO on)", false),
            new("JIT, TieredPGO off", false, ("DOTNET_TieredPGO", "0")),
            new("JIT, TieredCompilation off", false, ("DOTNET_TieredCompilation", "0")),
        };
        if (r2r is not null)
        {
            configs.Add(new Config("ReadyToRun (tiered, TieredPGO on)", true));
            configs.Add(new Config("ReadyToRun, TieredPGO off", true, ("DOTNET_TieredPGO", "0")));
        }

        var (nullBroker, brokerUri) = await E2ERunner.StartNullBrokerAsync();
        var results = new Dictionary<(string Workload, string Client, string Config), List<ChildResult>>();
        try
        {
            Console.WriteLine($"null broker at {brokerUri}; {configs.Count} configurations, {runs} fresh processes per client, configuration and workload");
            // The null broker is a .NET process too: one unrecorded child per workload and client first, so that the
            // children measure their own cold start, not the broker's.
            foreach (string w in workloads)
            {
                foreach (string c in Clients)
                {
                    await RunChildAsync(configs[0], r2r, w, c, brokerUri, divisor);
                }
            }

            for (int rep = 1; rep <= runs; rep++)
            {
                foreach (string w in workloads)
                {
                    foreach (var config in configs)
                    {
                        foreach (string c in Clients)
                        {
                            var r = await RunChildAsync(config, r2r, w, c, brokerUri, divisor);
                            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"  {w,-16} {c,-8} {config.Name,-38} rep {rep}: run 1 {r.MsgsPerSec[0],11:N0} msg/s, run {RunsPerChild} {r.MsgsPerSec[^1],11:N0} msg/s, start to run 1 done {r.StartToFirstRunMs,7:N0} ms"));
                            var key = (w, c, config.Name);
                            if (!results.TryGetValue(key, out var list))
                            {
                                results[key] = list = [];
                            }

                            list.Add(r);
                        }
                    }
                }
            }
        }
        finally
        {
            E2ERunner.StopNullBroker(nullBroker);
        }

        string text = Markdown(args, workloads, configs, results, runs, divisor);
        Console.WriteLine();
        Console.WriteLine(text);
        string dir = outDir ?? Path.Combine(E2ERunner.FindRepoRoot(), "benchmarks");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "cold-start.md");
        await File.WriteAllTextAsync(path, text + MarkdownNotes.KeptFrom(path));
        Console.WriteLine($"wrote {path}");
        return 0;
    }

    private static string Markdown(string[] args, string[] workloads, List<Config> configs,
        Dictionary<(string Workload, string Client, string Config), List<ChildResult>> results, int runs, int divisor)
    {
        var md = new StringBuilder();
        md.AppendLine("# Cold start: the first run of a fresh process (issue 14)");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}; {RuntimeInformation.FrameworkDescription}; server: the null broker (a separate process, warmed up first)");
        var shown = args.Where((a, i) => a != "--r2r" && (i == 0 || args[i - 1] != "--r2r")).ToArray();
        md.AppendLine(CultureInfo.InvariantCulture, $"- command: `scripts/cold-start.sh{(shown.Length == 0 ? "" : " " + string.Join(' ', shown))}` (publishes the benchmark twice for linux-x64, with and without `-p:PublishReadyToRun=true`, and runs `coldstart --r2r DIR` from the plain build)");
        md.AppendLine(CultureInfo.InvariantCulture, $"- each cell: {runs} fresh processes per client, configuration and workload, taken in rotation (workload, then configuration, then Nucleon.Pipes and RabbitMQ.Client in turn); median (min–max). A process connects, runs the workload {RunsPerChild} times at the e2e runner's size ÷ {divisor} and exits. Run 1 is the cold figure (its connection is opened first, untimed, as in the e2e runner); run {RunsPerChild} shows where the process is heading. \"start → run 1 done\" is from the process's start (runtime start-up included) to the end of run 1. rpc counts round trips.");
        md.AppendLine("- settings: `DOTNET_TieredPGO=0` and `DOTNET_TieredCompilation=0` as environment variables (the same as `<TieredPGO>false</TieredPGO>` / `<TieredCompilation>false</TieredCompilation>` in the application's project); ReadyToRun is the application published with `-p:PublishReadyToRun=true`, which precompiles Nucleon.Pipes and RabbitMQ.Client along with the application (the framework is ReadyToRun already).");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"| workload | client | configuration | run 1 msgs/s (cold) | run 1 vs default JIT | run {RunsPerChild} msgs/s | run 1 / run {RunsPerChild} | start → run 1 done (ms) | run 1 client CPU µs/msg |");
        md.AppendLine("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (string w in workloads)
        {
            foreach (string c in Clients)
            {
                double baseline = Meter.Median(results[(w, c, configs[0].Name)].Select(r => r.MsgsPerSec[0]));
                foreach (var config in configs)
                {
                    var list = results[(w, c, config.Name)];
                    double first = Meter.Median(list.Select(r => r.MsgsPerSec[0]));
                    double last = Meter.Median(list.Select(r => r.MsgsPerSec[^1]));
                    md.AppendLine(CultureInfo.InvariantCulture,
                        $"| {w} | {(c == "nucleon" ? "Nucleon.Pipes" : "RabbitMQ.Client")} | {config.Name} | {Meter.MedianAndRange(list.Select(r => r.MsgsPerSec[0]), "N0")} | {first / baseline:N2}× | {Meter.MedianAndRange(list.Select(r => r.MsgsPerSec[^1]), "N0")} | {first / last:P0} | {Meter.MedianAndRange(list.Select(r => r.StartToFirstRunMs), "N0")} | {Meter.Median(list.Select(r => r.CpuUsPerMsg[0])):N2} |");
                }
            }
        }

        return md.ToString();
    }

    private static async Task<ChildResult> RunChildAsync(Config config, string? r2r, string workload, string client, string uri, int divisor)
    {
        string[] childArgs = ["coldstart", "--child", workload, client, "--uri", uri, "--divisor", divisor.ToString(CultureInfo.InvariantCulture)];
        var psi = E2ERunner.SelfStartInfo(childArgs);
        if (config.ReadyToRun)
        {
            psi.FileName = "dotnet";
            psi.ArgumentList.Clear();
            psi.ArgumentList.Add(Path.Combine(r2r!, "Nucleon.Pipes.Benchmarks.dll"));
            foreach (string a in childArgs)
            {
                psi.ArgumentList.Add(a);
            }
        }

        foreach (var (key, value) in config.Environment)
        {
            psi.Environment[key] = value;
        }

        using var p = Process.Start(psi)!;
        try
        {
            string output = await p.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(3));
            await p.WaitForExitAsync();
            var lines = output.Split('\n').Where(l => l.StartsWith("COLD ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToArray();
            if (p.ExitCode != 0 || lines.Length != RunsPerChild)
            {
                throw new InvalidOperationException($"cold-start child {workload} {client} ({config.Name}) failed, exit code {p.ExitCode}: {output}");
            }

            double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
            return new ChildResult(lines.Select(f => D(f[2])).ToArray(), lines.Select(f => D(f[3])).ToArray(), D(lines[0][4]));
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill();
            }
        }
    }

    /// <summary>In the child: prints <c>COLD run msgsPerSec cpuUsPerMsg msSinceProcessStart</c> per run.</summary>
    private static async Task<int> ChildAsync(string workload, string client, string uri, int divisor)
    {
        IClientWorkloads workloads = client == "nucleon" ? new NucleonWorkloads() : new RabbitWorkloads();
        var ctx = new BenchContext { Uri = uri, NullTarget = true, ServerPid = 0, Scale = divisor };
        for (int run = 1; run <= RunsPerChild; run++)
        {
            var rows = await workloads.RunAsync(workload, ctx);
            double sinceStart = (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalMilliseconds;
            var s = rows.Single().Sample;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"COLD {run} {s.MsgsPerSec:R} {s.CpuUsPerMsg:R} {sinceStart:R}"));
        }

        return 0;
    }
}
