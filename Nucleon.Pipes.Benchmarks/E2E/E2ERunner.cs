using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Nucleon.Pipes.Benchmarks.Ceiling;
using Nucleon.Pipes.Benchmarks.NullBroker;

namespace Nucleon.Pipes.Benchmarks.E2E;

/// <summary>
/// <c>e2e [--target null|broker] [--null-server c|dotnet] [--quick] [--uri amqp://...] [--runs N] [--only a,b] [--no-ceiling] [--otel]</c>: every workload
/// for Nucleon.Pipes and RabbitMQ.Client 7, and the four rows the raw-socket ceiling client runs, alternating
/// A B C A B C after a warm-up, medians and spread, written to benchmarks/results.md (+ per-target JSON) and
/// benchmarks/ratios.svg.
/// </summary>
internal static class E2ERunner
{
    public static readonly string[] AllWorkloads =
        ["publish", "publish-confirm", "publish-batch", "publish-parallel", "consume", "consume-autoack", "rpc", DirectReplyToWorkloads.OneCaller, DirectReplyToWorkloads.ManyCallers, "large", "fairness"];

    private static readonly TimeSpan WarmUpTime = TimeSpan.FromSeconds(2);

    public static async Task<int> MainAsync(string[] args)
    {
        string target = "null";
        bool quick = false;
        int divisor = 10; // counts ÷ divisor in quick mode
        string? outDir = null; // where results go (default: the repository's benchmarks/)
        string? tag = null; // --tag NAME: results-TARGET-NAME.json, a section of its own next to the full runs (e.g. a few rows run alone)
        int serverPidOption = 0; // with --uri: the broker's pid, for its CPU column
        string? uri = null;
        int runs = 3;
        string[] only = AllWorkloads;
        string? clientOnly = null; // --client nucleon|rabbit|ceiling: one client only, for profiling; results are not written
        bool ceiling = true; // --no-ceiling: leave the raw-socket ceiling client out
        string? nullServer = null; // --null-server c|dotnet; default c when a C compiler is found
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--target": target = args[++i]; break;
                case "--quick": quick = true; break;
                // Tiny counts and one run: proves the runner works end to end (CI); numbers mean nothing.
                case "--smoke": quick = true; divisor = 1000; runs = 1; break;
                case "--out": outDir = args[++i]; break;
                case "--tag": tag = args[++i]; break;
                case "--report-only":
                    // Re-renders results.md and ratios.svg from the results-*.json already there.
                    Report.WriteAll(Path.Combine(FindRepoRoot(), "benchmarks"));
                    return 0;
                case "--server-pid": serverPidOption = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--uri": uri = args[++i]; break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rmq-throttle": RabbitWorkloads.ThrottlePercent = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--alloc-profile": AllocationSampler.Instance = new AllocationSampler(); break;
                case "--inbox-peak": InboxPeakSampler.Instance ??= new InboxPeakSampler(); break;
                case "--client": clientOnly = args[++i]; break;
                case "--no-ceiling": ceiling = false; break;
                case "--null-server": nullServer = args[++i]; break;
                // The OpenTelemetry SDK listens to both clients (tracing and metrics, in-memory exporters).
                case "--otel": OtelListening.Instance ??= new OtelListening(); break;
                case "--only": only = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        string repo = FindRepoRoot();
        string commandLine = "dotnet run -c Release --project Nucleon.Pipes.Benchmarks -- e2e " + string.Join(' ', args);
        Process? nullBroker = null;
        bool startedBroker = false;
        string brokerDir = "/tmp/bench-broker";
        int serverPid = serverPidOption;
        string? serverLabel = null; // which null broker ran, for the report header
        try
        {
            if (target == "null")
            {
                if (await ChooseNullBrokerAsync(nullServer, repo) is not { } chosen)
                {
                    return 2;
                }

                serverLabel = chosen.Label;
                (nullBroker, uri) = await StartListeningAsync(chosen.StartInfo);
                serverPid = nullBroker.Id;
            }
            else if (target == "broker")
            {
                if (uri is null)
                {
                    uri = RunScript(repo, "scripts/broker.sh", $"--port 5694 --dir {brokerDir} start").Trim().Split('\n')[^1].Trim();
                    startedBroker = true;
                }

                // The broker's CPU is read from its pid: ours when we started it, else --server-pid.
                string pidFile = Path.Combine(brokerDir, "rabbitmq.pid");
                if (startedBroker && File.Exists(pidFile))
                {
                    serverPid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
                }
            }
            else
            {
                Console.Error.WriteLine("--target must be null or broker");
                return 2;
            }

            Console.WriteLine($"target {target} at {uri} (server pid {serverPid}{(serverLabel is null ? "" : ", " + serverLabel)}), {(quick ? "quick" : "full")}, {runs} runs after {(quick ? "1 warm-up run" : "a warm-up of at least 2 s")}");
            var ctx = new BenchContext { Uri = uri!, NullTarget = target == "null", ServerPid = serverPid, Scale = quick ? divisor : 1 };
            string serverVersion = await ServerVersionAsync(uri!);
            await ctx.PrepareBrokerAsync();

            IClientWorkloads[] clients = clientOnly switch
            {
                null when ceiling => [new NucleonWorkloads(), new RabbitWorkloads(), new CeilingWorkloads()],
                null => [new NucleonWorkloads(), new RabbitWorkloads()],
                "nucleon" => [new NucleonWorkloads()],
                "rabbit" => [new RabbitWorkloads()],
                "ceiling" => [new CeilingWorkloads()],
                _ => throw new ArgumentException("--client must be nucleon, rabbit or ceiling"),
            };
            // row -> client -> samples
            var samples = new Dictionary<string, Dictionary<string, List<Sample>>>();
            var rowOrder = new List<string>();
            foreach (string w in only)
            {
                for (int run = 0; run <= runs; run++)
                {
                    foreach (var client in clients)
                    {
                        if (client is CeilingWorkloads && !CeilingWorkloads.Supports(w))
                        {
                            continue;
                        }

                        var sw = Stopwatch.StartNew();
                        List<(string Row, Sample Sample)> rows;
                        try
                        {
                            rows = await client.RunAsync(w, ctx).WaitAsync(TimeSpan.FromMinutes(quick ? 3 : 10));
                            // A full warm-up lasts at least 2 s (repeated runs, at most 20): one short run left the
                            // first measured runs in tiered JIT (publish rose 1.3 -> 2.7 -> 4.4 M msgs/s over runs 1-3).
                            for (int again = 1; run == 0 && !quick && sw.Elapsed < WarmUpTime && again < 20; again++)
                            {
                                rows = await client.RunAsync(w, ctx).WaitAsync(TimeSpan.FromMinutes(10));
                            }
                        }
                        catch (Exception ex)
                        {
                            Console.WriteLine($"  {w} {client.Name} run {run}: FAILED {ex.GetType().Name}: {ex.Message}");
                            continue;
                        }

                        if (OtelListening.Instance is { } otel)
                        {
                            Console.WriteLine($"  ({otel.TakeSpans():N0} spans exported)");
                        }

                        foreach (var (row, s) in rows)
                        {
                            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"  {row,-17} {client.Name,-16} {(run == 0 ? "warm-up" : $"run {run}"),-8} {s.MsgsPerSec,12:N0} msg/s {s.MBPerSec,9:N1} MB/s {s.CpuUsPerMsg,9:N2} µs CPU/msg {s.AllocPerMsg,10:N1} B/msg gc {s.Gen0}/{s.Gen1}/{s.Gen2} server {s.ServerCpuUsPerMsg,8:N2} µs/msg tp {s.ThreadPoolItemsPerMsg:N2} cs {s.ContextSwitchesPerMsg:N2}/msg jit {s.JitShare:P0}{(double.IsNaN(s.P50Ms) ? "" : $" p50 {s.P50Ms:N3} ms p99 {s.P99Ms:N3} ms max {s.MaxMs:N3} ms")}"));
                            if (run == 0)
                            {
                                continue;
                            }

                            if (!samples.TryGetValue(row, out var byClient))
                            {
                                samples[row] = byClient = [];
                                rowOrder.Add(row);
                            }

                            if (!byClient.TryGetValue(client.Name, out var list))
                            {
                                byClient[client.Name] = list = [];
                            }

                            list.Add(s);
                        }
                    }
                }
            }

            if (AllocationSampler.Instance is not null || InboxPeakSampler.Instance is not null || clientOnly is not null)
            {
                Console.WriteLine("(profiling run: results not written)");
                return 0;
            }

            var report = new RunReport
            {
                Target = target,
                Quick = quick,
                Tag = tag,
                Divisor = quick ? divisor : 1,
                Runs = runs,
                CommandLine = commandLine,
                Cores = Environment.ProcessorCount,
                DotNet = RuntimeInformation.FrameworkDescription,
                Os = RuntimeInformation.OSDescription,
                Server = serverLabel ?? serverVersion,
                Date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
                Rows = rowOrder.Select(r => Summarize(r, samples[r])).ToList(),
            };
            string dir = outDir ?? Path.Combine(repo, "benchmarks");
            Directory.CreateDirectory(dir);
            string json = Path.Combine(dir, $"results-{target}{(tag is null ? "" : "-" + tag)}{(quick ? "-quick" : "")}.json");
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(report, Report.Json));
            Console.WriteLine();
            Console.WriteLine(Report.Markdown(report));
            Report.WriteAll(dir);
            Console.WriteLine($"wrote {json}, {Path.Combine(dir, "results.md")}, {Path.Combine(dir, "ratios.svg")}");
            return 0;
        }
        finally
        {
            if (nullBroker is not null)
            {
                StopNullBroker(nullBroker);
            }

            if (startedBroker)
            {
                Console.WriteLine(RunScript(repo, "scripts/broker.sh", $"--port 5694 --dir {brokerDir} stop"));
            }
        }
    }

    internal static RowSummary Summarize(string row, Dictionary<string, List<Sample>> byClient)
    {
        ClientSummary Of(string name) => byClient.TryGetValue(name, out var l) && l.Count > 0 ? ClientSummary.From(l) : new ClientSummary();
        return new RowSummary { Row = row, Nucleon = Of("Nucleon.Pipes"), Rabbit = Of("RabbitMQ.Client"), Ceiling = Of(CeilingWorkloads.ClientName) };
    }

    internal static async Task<string> ServerVersionAsync(string uri)
    {
        await using var conn = new AmqpConnection(uri);
        await conn.ConnectAsync();
        var props = conn.ServerProperties;
        string Get(string k) => props.TryGetValue(k, out var v) ? v switch { byte[] b => Encoding.UTF8.GetString(b), null => "", _ => v.ToString() ?? "" } : "?";
        string result = $"{Get("product")} {Get("version")}";
        await conn.CloseAsync();
        return result;
    }

    /// <summary>
    /// The null broker to start (<c>--null-server</c>): the C one unless <c>dotnet</c> is asked for or no C compiler
    /// is found (then the .NET one, saying so on stderr). Null, with the reason on stderr, when it cannot be had.
    /// </summary>
    private static async Task<(string Label, ProcessStartInfo StartInfo)?> ChooseNullBrokerAsync(string? requested, string repo)
    {
        if (requested is not (null or "c" or "dotnet"))
        {
            Console.Error.WriteLine("--null-server must be c or dotnet");
            return null;
        }

        string? compiler = requested == "dotnet" ? null : NativeNullBroker.FindCompiler();
        if (requested == "dotnet" || (compiler is null && requested is null))
        {
            if (requested is null)
            {
                Console.Error.WriteLine("no C compiler (cc) found: running the .NET null broker, whose own cost per message takes CPU from the client (see benchmarks/null-broker.md)");
            }

            return (NativeNullBroker.DotNetLabel, SelfStartInfo("nullbroker", "--port", "0"));
        }

        if (compiler is null)
        {
            Console.Error.WriteLine("--null-server c: no C compiler (cc) on PATH");
            return null;
        }

        string binary = await NativeNullBroker.EnsureBuiltAsync(compiler, NativeNullBroker.SourcePath(repo));
        return (NativeNullBroker.Label, NativeNullBroker.StartInfo(binary));
    }

    /// <summary>Starts <c>nullbroker --port 0</c> (plus <paramref name="extraArgs"/>) as a child process; returns it and its URI.</summary>
    internal static Task<(Process, string)> StartNullBrokerAsync(params string[] extraArgs) =>
        StartListeningAsync(SelfStartInfo(["nullbroker", "--port", "0", .. extraArgs]));

    /// <summary>Starts a null broker (either one) and waits for its <c>LISTENING port</c> line; returns it and its URI.</summary>
    private static async Task<(Process, string)> StartListeningAsync(ProcessStartInfo startInfo)
    {
        var p = Process.Start(startInfo)!;
        while (await p.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("LISTENING ", StringComparison.Ordinal))
            {
                return (p, $"amqp://guest:guest@127.0.0.1:{line[10..].Trim()}/");
            }
        }

        throw new InvalidOperationException("the null broker did not start");
    }

    /// <summary>Stops a null broker started by <see cref="StartNullBrokerAsync"/>: closes its stdin, kills it if it lingers.</summary>
    internal static void StopNullBroker(Process nullBroker)
    {
        try
        {
            nullBroker.StandardInput.Close();
            if (!nullBroker.WaitForExit(5000))
            {
                nullBroker.Kill();
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Runs this benchmark program again (same host and build) with <paramref name="args"/>, stdin and stdout redirected.</summary>
    internal static ProcessStartInfo SelfStartInfo(params string[] args)
    {
        string? host = Environment.ProcessPath;
        string dll = typeof(E2ERunner).Assembly.Location;
        var psi = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (host is not null && Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            psi.FileName = host;
            psi.ArgumentList.Add(dll);
        }
        else
        {
            psi.FileName = host ?? "dotnet";
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    internal static string FindRepoRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Nucleon.sln")))
                {
                    return d.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }

    internal static string RunScript(string repo, string script, string args)
    {
        var psi = new ProcessStartInfo("bash", $"{Path.Combine(repo, script)} {args}")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = repo,
        };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} {args} failed with exit code {p.ExitCode}");
        }

        return output;
    }
}

internal sealed class RunReport
{
    public string Target { get; set; } = "";
    public bool Quick { get; set; }

    /// <summary>Set for a run of a few rows on their own (<c>--tag</c>); null for the full runs.</summary>
    public string? Tag { get; set; }

    public int Divisor { get; set; } = 10;
    public int Runs { get; set; }
    public string CommandLine { get; set; } = "";
    public int Cores { get; set; }
    public string DotNet { get; set; } = "";
    public string Os { get; set; } = "";
    public string Server { get; set; } = "";
    public string Date { get; set; } = "";
    public List<RowSummary> Rows { get; set; } = [];
}

internal sealed class RowSummary
{
    public string Row { get; set; } = "";
    public ClientSummary Nucleon { get; set; } = new();
    public ClientSummary Rabbit { get; set; } = new();

    /// <summary>The raw-socket ceiling client (empty where it does not run the row, and in reports written before it existed).</summary>
    public ClientSummary Ceiling { get; set; } = new();
}

/// <summary>Medians (and min/max) over the measured runs.</summary>
internal sealed class ClientSummary
{
    public int N { get; set; }
    public double[] MsgsPerSec { get; set; } = [double.NaN, double.NaN, double.NaN];
    public double[] MBPerSec { get; set; } = [double.NaN, double.NaN, double.NaN];
    public double[] CpuUsPerMsg { get; set; } = [double.NaN, double.NaN, double.NaN];
    public double[] AllocPerMsg { get; set; } = [double.NaN, double.NaN, double.NaN];
    public double[] ServerCpuUsPerMsg { get; set; } = [double.NaN, double.NaN, double.NaN];
    public double[] P50Ms { get; set; } = [double.NaN, double.NaN, double.NaN];
    public double[] P99Ms { get; set; } = [double.NaN, double.NaN, double.NaN];
    public double[] MaxMs { get; set; } = [double.NaN, double.NaN, double.NaN];
    public double[] ThreadPoolItemsPerMsg { get; set; } = [double.NaN, double.NaN, double.NaN];
    public double[] ContextSwitchesPerMsg { get; set; } = [double.NaN, double.NaN, double.NaN];
    public double Gen0 { get; set; } = double.NaN;
    public double Gen1 { get; set; } = double.NaN;
    public double Gen2 { get; set; } = double.NaN;

    public static ClientSummary From(List<Sample> s)
    {
        static double[] Stat(IEnumerable<double> v)
        {
            var a = v.Where(x => !double.IsNaN(x)).ToArray();
            return a.Length == 0 ? [double.NaN, double.NaN, double.NaN] : [Meter.Median(a), a.Min(), a.Max()];
        }

        return new ClientSummary
        {
            N = s.Count,
            MsgsPerSec = Stat(s.Select(x => x.MsgsPerSec)),
            MBPerSec = Stat(s.Select(x => x.MBPerSec)),
            CpuUsPerMsg = Stat(s.Select(x => x.CpuUsPerMsg)),
            AllocPerMsg = Stat(s.Select(x => x.AllocPerMsg)),
            ServerCpuUsPerMsg = Stat(s.Select(x => x.ServerCpuUsPerMsg)),
            P50Ms = Stat(s.Select(x => x.P50Ms)),
            P99Ms = Stat(s.Select(x => x.P99Ms)),
            MaxMs = Stat(s.Select(x => x.MaxMs)),
            ThreadPoolItemsPerMsg = Stat(s.Select(x => x.ThreadPoolItemsPerMsg)),
            ContextSwitchesPerMsg = Stat(s.Select(x => x.ContextSwitchesPerMsg)),
            Gen0 = Meter.Median(s.Select(x => (double)x.Gen0)),
            Gen1 = Meter.Median(s.Select(x => (double)x.Gen1)),
            Gen2 = Meter.Median(s.Select(x => (double)x.Gen2)),
        };
    }
}
