using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Nucleon.Pipes.Benchmarks.E2E;
using RabbitMQ.Client;

namespace Nucleon.Pipes.Benchmarks.Scale;

/// <summary>
/// <c>scale [--quick] [--uri amqp://...]</c>: memory and scale, side by side with RabbitMQ.Client against a real
/// broker (a private node on port 5695 unless --uri is given). Measures managed memory per idle channel and per
/// idle connection, 1,000 channels on one connection publishing at once (throughput, and how evenly the channels
/// progress), and the CPU of an idle connection that exchanges heartbeats. Writes benchmarks/scale.md.
/// </summary>
internal static class ScaleRunner
{
    private const string Queue = "bench.publish"; // x-max-length 10,000, declared by BenchContext

    public static async Task<int> MainAsync(string[] args)
    {
        bool quick = false;
        string? uri = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--uri": uri = args[++i]; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        string repo = E2ERunner.FindRepoRoot();
        const string brokerArgs = "--port 5695 --dir /tmp/scale-broker";
        bool startedBroker = false;
        try
        {
            if (uri is null)
            {
                uri = E2ERunner.RunScript(repo, "scripts/broker.sh", $"{brokerArgs} start").Trim().Split('\n')[^1].Trim();
                startedBroker = true;
            }

            var ctx = new BenchContext { Uri = uri, NullTarget = false, ServerPid = 0, Scale = 1 };
            await ctx.PrepareBrokerAsync();
            string server = await E2ERunner.ServerVersionAsync(uri);
            int runs = 3;
            int channels = 1000, connections = 20;
            var publishWindow = TimeSpan.FromSeconds(quick ? 2 : 5);
            var idleWindow = TimeSpan.FromSeconds(quick ? 5 : 20);

            var rows = new List<(string Metric, string Unit, List<double> Nucleon, List<double> Rabbit, bool LowerIsBetter)>
            {
                ($"managed memory per idle channel ({channels:N0} channels on one connection)", "bytes", [], [], true),
                ($"managed memory per idle connection ({connections} connections)", "bytes", [], [], true),
                ($"{channels:N0} channels publishing at once (confirmed, one in flight each): throughput", "msgs/s", [], [], false),
                ($"{channels:N0} channels publishing at once: most / fewest messages of one channel", "ratio", [], [], true),
                ($"idle connection, 1 s heartbeats: CPU over {idleWindow.TotalSeconds:N0} s (minus a no-connection baseline)", "ms CPU per minute", [], [], true),
            };

            for (int run = 0; run <= runs; run++)
            {
                foreach (bool nucleon in new[] { true, false })
                {
                    string name = nucleon ? "Nucleon.Pipes" : "RabbitMQ.Client";
                    // Connections first: what the previous step left behind (closed channels, pools) settles in between.
                    double perConnection = nucleon ? await NucleonConnectionMemory(uri, connections) : await RabbitConnectionMemory(uri, connections);
                    double perChannel = nucleon ? await NucleonChannelMemory(uri, channels) : await RabbitChannelMemory(uri, channels);
                    var (rate, spread) = nucleon ? await NucleonManyPublishers(uri, channels, publishWindow) : await RabbitManyPublishers(uri, channels, publishWindow);
                    double idleCpu = await IdleCpu(uri, nucleon, idleWindow);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {name,-16} {(run == 0 ? "warm-up" : $"run {run}"),-8} channel {perChannel,9:N0} B  connection {perConnection,9:N0} B  {channels} publishers {rate,9:N0} msg/s max/min {spread,6:N2}  idle {idleCpu,7:N1} ms CPU/min"));
                    if (run == 0)
                    {
                        continue;
                    }

                    double[] values = [perChannel, perConnection, rate, spread, idleCpu];
                    for (int i = 0; i < rows.Count; i++)
                    {
                        (nucleon ? rows[i].Nucleon : rows[i].Rabbit).Add(values[i]);
                    }
                }
            }

            var md = new StringBuilder();
            md.AppendLine("# Memory and scale: Nucleon.Pipes vs RabbitMQ.Client 7.2.2");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"- date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}; {RuntimeInformation.FrameworkDescription}; server: {server}");
            md.AppendLine(CultureInfo.InvariantCulture, $"- command: `dotnet run -c Release --project Nucleon.Pipes.Benchmarks -- scale {string.Join(' ', args)}`");
            md.AppendLine(CultureInfo.InvariantCulture, $"- {runs} runs per client after a warm-up, alternating; cells are median (min–max). Memory is `GC.GetTotalMemory(true)` before and after opening, with everything kept referenced (managed heap only: socket buffers in the kernel are not included). The publishers each await a confirmed publish in a loop for {publishWindow.TotalSeconds:N0} s. Idle CPU is the process's CPU time while one connection with 1 s heartbeats sits idle, minus the same period with no connection.");
            md.AppendLine();
            md.AppendLine("| metric | unit | Nucleon.Pipes | RabbitMQ.Client | Nucleon / RabbitMQ |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: |");
            foreach (var r in rows)
            {
                double n = Meter.Median(r.Nucleon), b = Meter.Median(r.Rabbit);
                string fmt = r.Unit is "ratio" or "ms CPU per minute" ? "N2" : "N0";
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {r.Metric} | {r.Unit} | {Cell(r.Nucleon, fmt)} | {Cell(r.Rabbit, fmt)} | {(b == 0 ? "–" : (n / b).ToString("N2", CultureInfo.InvariantCulture) + "×")} |");
            }

            string text = md.ToString();
            Console.WriteLine();
            Console.WriteLine(text);
            string path = Path.Combine(repo, "benchmarks", quick ? "scale-quick.md" : "scale.md");
            await File.WriteAllTextAsync(path, text);
            Console.WriteLine($"wrote {path}");
            return 0;
        }
        finally
        {
            if (startedBroker)
            {
                Console.WriteLine(E2ERunner.RunScript(repo, "scripts/broker.sh", $"{brokerArgs} stop"));
            }
        }
    }

    private static string Cell(List<double> v, string fmt) =>
        v.Count == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{Meter.Median(v).ToString(fmt, CultureInfo.InvariantCulture)} ({v.Min().ToString(fmt, CultureInfo.InvariantCulture)}–{v.Max().ToString(fmt, CultureInfo.InvariantCulture)})");

    private static long Heap()
    {
        // Several full, compacting collections with finalizers in between, so that objects released by
        // finalizers or by pool trimming (which runs after a gen-2 collection) are gone before we count.
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    // ------------------------------------------------------------------ memory

    private static async Task<double> NucleonChannelMemory(string uri, int n)
    {
        await using var conn = new AmqpConnection(uri);
        await conn.ConnectAsync();
        await using (await conn.AllocateChannelAsync())
        {
            // one channel first, so that lazily created connection-wide state is not counted per channel
        }

        var list = new List<MessageChannel>(n);
        long before = Heap();
        for (int i = 0; i < n; i++)
        {
            list.Add(await conn.AllocateChannelAsync());
        }

        long after = Heap();
        GC.KeepAlive(list);
        await conn.CloseAsync();
        return (after - before) / (double)n;
    }

    private static async Task<double> RabbitChannelMemory(string uri, int n)
    {
        var factory = new ConnectionFactory { Uri = new Uri(uri) };
        await using var conn = await factory.CreateConnectionAsync();
        await using (await conn.CreateChannelAsync())
        {
        }

        var list = new List<IChannel>(n);
        long before = Heap();
        for (int i = 0; i < n; i++)
        {
            list.Add(await conn.CreateChannelAsync());
        }

        long after = Heap();
        GC.KeepAlive(list);
        await conn.CloseAsync();
        return (after - before) / (double)n;
    }

    private static async Task<double> NucleonConnectionMemory(string uri, int n)
    {
        await Settle();
        var list = new List<AmqpConnection>(n);
        long before = Heap();
        for (int i = 0; i < n; i++)
        {
            var c = new AmqpConnection(uri);
            await c.ConnectAsync();
            list.Add(c);
        }

        long after = Heap();
        foreach (var c in list)
        {
            await c.DisposeAsync();
        }

        return (after - before) / (double)n;
    }

    private static async Task<double> RabbitConnectionMemory(string uri, int n)
    {
        await Settle();
        var factory = new ConnectionFactory { Uri = new Uri(uri) };
        var list = new List<IConnection>(n);
        long before = Heap();
        for (int i = 0; i < n; i++)
        {
            list.Add(await factory.CreateConnectionAsync());
        }

        long after = Heap();
        foreach (var c in list)
        {
            await c.CloseAsync();
            await c.DisposeAsync();
        }

        return (after - before) / (double)n;
    }

    /// <summary>Lets the previous step's closed connections finish their background work before a memory count.</summary>
    private static async Task Settle()
    {
        for (int i = 0; i < 3; i++)
        {
            Heap();
            await Task.Delay(200);
        }
    }

    // ------------------------------------------------------------------ many publishers

    private static async Task<(double Rate, double Spread)> NucleonManyPublishers(string uri, int n, TimeSpan window)
    {
        await using var conn = new AmqpConnection(uri);
        await conn.ConnectAsync();
        var channels = new MessageChannel[n];
        for (int i = 0; i < n; i++)
        {
            channels[i] = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true });
        }

        var counts = new long[n];
        using var stop = new CancellationTokenSource();
        var sw = Stopwatch.StartNew();
        var tasks = new Task[n];
        for (int i = 0; i < n; i++)
        {
            int id = i;
            tasks[i] = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await channels[id].PublishAsync("", Queue, BenchContext.Body32);
                    counts[id]++;
                }
            });
        }

        stop.CancelAfter(window);
        await Task.WhenAll(tasks).WaitAsync(window + TimeSpan.FromSeconds(60));
        double seconds = sw.Elapsed.TotalSeconds;
        await conn.CloseAsync();
        return (counts.Sum() / seconds, counts.Max() / (double)Math.Max(1, counts.Min()));
    }

    private static async Task<(double Rate, double Spread)> RabbitManyPublishers(string uri, int n, TimeSpan window)
    {
        var factory = new ConnectionFactory { Uri = new Uri(uri) };
        await using var conn = await factory.CreateConnectionAsync();
        var channels = new IChannel[n];
        for (int i = 0; i < n; i++)
        {
            channels[i] = await conn.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        }

        var counts = new long[n];
        using var stop = new CancellationTokenSource();
        var sw = Stopwatch.StartNew();
        var tasks = new Task[n];
        for (int i = 0; i < n; i++)
        {
            int id = i;
            tasks[i] = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await channels[id].BasicPublishAsync("", Queue, BenchContext.Body32);
                    counts[id]++;
                }
            });
        }

        stop.CancelAfter(window);
        await Task.WhenAll(tasks).WaitAsync(window + TimeSpan.FromSeconds(60));
        double seconds = sw.Elapsed.TotalSeconds;
        await conn.CloseAsync();
        return (counts.Sum() / seconds, counts.Max() / (double)Math.Max(1, counts.Min()));
    }

    // ------------------------------------------------------------------ idle CPU

    private static async Task<double> IdleCpu(string uri, bool nucleon, TimeSpan window)
    {
        // Baseline: the same wait without a connection (runtime timers, tiering, GC).
        double baseline = await CpuDuring(window);
        double withConnection;
        if (nucleon)
        {
            var options = AmqpConnectionOptions.Parse(uri) with { Heartbeat = TimeSpan.FromSeconds(1) };
            await using var conn = new AmqpConnection(options);
            await conn.ConnectAsync();
            withConnection = await CpuDuring(window);
            await conn.CloseAsync();
        }
        else
        {
            var factory = new ConnectionFactory { Uri = new Uri(uri), RequestedHeartbeat = TimeSpan.FromSeconds(1) };
            await using var conn = await factory.CreateConnectionAsync();
            withConnection = await CpuDuring(window);
            await conn.CloseAsync();
        }

        return Math.Max(0, withConnection - baseline) * 60.0 / window.TotalSeconds;
    }

    private static async Task<double> CpuDuring(TimeSpan window)
    {
        var self = Process.GetCurrentProcess();
        self.Refresh();
        var cpu0 = self.TotalProcessorTime;
        await Task.Delay(window);
        self.Refresh();
        return (self.TotalProcessorTime - cpu0).TotalMilliseconds;
    }
}
