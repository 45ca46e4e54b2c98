using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Nucleon.Pipes.Benchmarks.E2E;
using RabbitMQ.Client;

namespace Nucleon.Pipes.Benchmarks.Scale;

/// <summary>
/// <c>scale [--quick] [--uri amqp://...] [--open-only N]</c>: memory and scale, side by side with RabbitMQ.Client against a real
/// broker (a private node on port 5695 unless --uri is given). Measures managed memory per idle channel and per
/// idle connection, 1,000 channels on one connection publishing at once (throughput, and how evenly the channels
/// progress), and the CPU of an idle connection that exchanges heartbeats. Writes benchmarks/scale.md
/// (scale-quick.md with --quick). Memory is counted in child processes of this program
/// (<c>scale --memory-child nucleon|rabbit --uri ...</c>), a fresh one per client and run.
/// </summary>
internal static class ScaleRunner
{
    private const string Queue = "bench.publish"; // x-max-length 10,000, declared by BenchContext

    public static async Task<int> MainAsync(string[] args)
    {
        bool quick = false;
        string? uri = null;
        string? memoryChild = null;
        int openRounds = 0;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--open-only": openRounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--uri": uri = args[++i]; break;
                case "--memory-child": memoryChild = args[++i]; break; // internal: see MemoryInChildAsync
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        if (memoryChild is not null)
        {
            return await MemoryChildMainAsync(uri ?? throw new ArgumentException("--memory-child needs --uri"), memoryChild == "nucleon");
        }

        string repo = E2ERunner.FindRepoRoot();
        const string brokerArgs = "--port 5695 --dir /tmp/scale-broker";
        bool startedBroker = false;
        try
        {
            if (uri is null)
            {
                startedBroker = true; // set first: a node that failed half-way through starting is stopped too
                uri = E2ERunner.RunScript(repo, "scripts/broker.sh", $"{brokerArgs} start").Trim().Split('\n')[^1].Trim();
            }

            if (openRounds > 0)
            {
                await OpenTimesOnlyAsync(uri, openRounds);
                return 0;
            }

            var ctx = new BenchContext { Uri = uri, NullTarget = false, ServerPid = 0, Scale = 1 };
            await ctx.PrepareBrokerAsync();
            string server = await E2ERunner.ServerVersionAsync(uri);
            // Every phase is bounded in time: the full run takes about 3 minutes, --quick under 1.
            int runs = quick ? 1 : 3;
            const int channels = MemoryChannels, connections = MemoryConnections;
            var warmUpWindow = TimeSpan.FromSeconds(1);
            var publishWindow = TimeSpan.FromSeconds(quick ? 2 : 5);
            int idleRounds = quick ? 1 : 3;
            var idleWindow = TimeSpan.FromSeconds(quick ? 5 : 10);
            var heartbeat = TimeSpan.FromSeconds(1);
            var total = Stopwatch.StartNew();

            var rows = new List<Row>
            {
                new($"managed memory per idle channel ({channels:N0} channels on one connection)", "bytes", "N0"),
                new($"managed memory per idle connection ({connections} connections)", "bytes", "N0"),
                new($"{channels:N0} channels on one connection publishing at once (confirmed, one in flight each): throughput", "msgs/s", "N0"),
                new($"{channels:N0} channels publishing at once: most / fewest messages published by one channel", "ratio", "N2"),
                new($"opening a connection: connect until usable, median of {OpenCount} opened one after another (each closed before the next)", "ms", "N2"),
            };
            var idleRow = new Row($"idle connection, {heartbeat.TotalSeconds:N0} s heartbeat requested: process CPU above the no-connection baseline", "ms CPU per minute", "N1");
            var baselineRow = new Row("(baseline: the same process idle with no connection)", "ms CPU per minute", "N1");

            // Memory and publishers: a warm-up (publishers only), then the runs, each client in turn.
            for (int run = 0; run <= runs; run++)
            {
                foreach (bool nucleon in new[] { true, false })
                {
                    string name = nucleon ? "Nucleon.Pipes" : "RabbitMQ.Client";
                    // Memory in a fresh process each time: buffers pooled by earlier phases (either client's) would
                    // otherwise be handed out again and go uncounted. No warm-up needed there.
                    var (perChannel, perConnection) = run == 0 ? (double.NaN, double.NaN) : await MemoryInChildAsync(uri, nucleon, channels, connections);
                    var window = run == 0 ? warmUpWindow : publishWindow;
                    var (rate, spread) = nucleon ? await NucleonManyPublishers(uri, channels, window) : await RabbitManyPublishers(uri, channels, window);
                    double openMs = await OpenTimeMs(uri, nucleon);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {name,-16} {(run == 0 ? "warm-up" : $"run {run}"),-8} channel {perChannel,9:N0} B  connection {perConnection,9:N0} B  {channels} publishers {rate,9:N0} msg/s max/min {spread,6:N2}  open {openMs,6:N2} ms  ({total.Elapsed.TotalSeconds:N0} s)"));
                    if (run == 0)
                    {
                        continue;
                    }

                    double[] values = [perChannel, perConnection, rate, spread, openMs];
                    for (int i = 0; i < rows.Count; i++)
                    {
                        (nucleon ? rows[i].Nucleon : rows[i].Rabbit).Add(values[i]);
                    }
                }
            }

            // Idle CPU: a short warm-up per client (the heartbeat paths get compiled), then rounds of
            // baseline, Nucleon.Pipes, RabbitMQ.Client, one window each.
            foreach (bool nucleon in new[] { true, false })
            {
                await IdleCpu(uri, nucleon, heartbeat, TimeSpan.FromSeconds(3));
            }

            for (int round = 1; round <= idleRounds; round++)
            {
                await Settle();
                double baseline = await CpuDuring(idleWindow) * 60.0 / idleWindow.TotalSeconds;
                baselineRow.Nucleon.Add(baseline);
                baselineRow.Rabbit.Add(baseline);
                foreach (bool nucleon in new[] { true, false })
                {
                    double cpu = await IdleCpu(uri, nucleon, heartbeat, idleWindow) * 60.0 / idleWindow.TotalSeconds;
                    (nucleon ? idleRow.Nucleon : idleRow.Rabbit).Add(Math.Max(0, cpu - baseline));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {(nucleon ? "Nucleon.Pipes" : "RabbitMQ.Client"),-16} idle {round}   {cpu,7:N1} ms CPU/min (baseline {baseline:N1})  ({total.Elapsed.TotalSeconds:N0} s)"));
                }
            }

            rows.Add(idleRow);
            rows.Add(baselineRow);

            var md = new StringBuilder();
            md.AppendLine("# Memory and scale: Nucleon.Pipes vs RabbitMQ.Client 7.2.2");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"- date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}; {RuntimeInformation.FrameworkDescription}; server: {server} (a private node on 127.0.0.1)");
            md.AppendLine(CultureInfo.InvariantCulture, $"- command: `dotnet run -c Release --project Nucleon.Pipes.Benchmarks -- scale{(args.Length == 0 ? "" : " " + string.Join(' ', args))}`");
            md.AppendLine(CultureInfo.InvariantCulture, $"- memory and publishers: {runs} run{(runs == 1 ? "" : "s")} per client after a warm-up, the clients alternating; cells are median (min–max). Memory is measured in a fresh process per client and run: `GC.GetTotalMemory(true)` (after forced compacting collections) before and after opening {channels:N0} channels on one connection, or {connections} connections, all kept referenced, divided by their number; one-time costs are left out (a first connection is opened beforehand and kept open; a first channel is opened and closed). This is the managed heap only (socket buffers in the kernel and native memory are not included); pooled buffers that a connection holds (e.g. its pending read buffer) count, because a fresh process has none pooled yet. Both clients use their defaults (heartbeat 60 s, no confirms on the idle channels).");
            md.AppendLine(CultureInfo.InvariantCulture, $"- publishers: {channels:N0} channels in publisher-confirm mode on one connection, one task each awaiting one 32-byte publish after another (each waits for its confirm: Nucleon `PublishAsync` on a `PublisherConfirms` channel, RabbitMQ.Client `BasicPublishAsync` with confirmation tracking) for {publishWindow.TotalSeconds:N0} s, into a queue with x-max-length 10,000. Fairness is the count of the channel that published most over that of the one that published least (1.00 = perfectly even).");
            md.AppendLine(CultureInfo.InvariantCulture, $"- idle CPU: after a 3 s warm-up per client, {idleRounds} round{(idleRounds == 1 ? "" : "s")} of {idleWindow.TotalSeconds:N0} s windows: the process idle with no connection (baseline), then with one idle connection per client, {heartbeat.TotalSeconds:N0} s heartbeat requested (the broker agrees, so heartbeat frames flow both ways); process CPU time (`Process.TotalProcessorTime`) delta, scaled to a minute, minus the baseline.");
            md.AppendLine();
            md.AppendLine("| metric | unit | Nucleon.Pipes | RabbitMQ.Client | Nucleon / RabbitMQ |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: |");
            foreach (var r in rows)
            {
                double n = Meter.Median(r.Nucleon), b = Meter.Median(r.Rabbit);
                string ratio = r == baselineRow || b == 0 ? "–" : (n / b).ToString("N2", CultureInfo.InvariantCulture) + "×";
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {r.Metric} | {r.Unit} | {Cell(r.Nucleon, r.Format)} | {Cell(r.Rabbit, r.Format)} | {ratio} |");
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
                try
                {
                    Console.WriteLine(E2ERunner.RunScript(repo, "scripts/broker.sh", $"{brokerArgs} stop"));
                }
                catch (InvalidOperationException ex)
                {
                    Console.Error.WriteLine($"could not stop the broker: {ex.Message} (run scripts/broker.sh {brokerArgs} stop)");
                }
            }
        }
    }

    private sealed record Row(string Metric, string Unit, string Format)
    {
        public List<double> Nucleon { get; } = [];

        public List<double> Rabbit { get; } = [];
    }

    private static string Cell(List<double> v, string fmt) => Meter.MedianAndRange(v, fmt);

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

    private const int MemoryChannels = 1000;

    // 100, not 20: each handshake rents 64 KiB buffers from ArrayPool<byte>.Shared and returns them on whichever thread
    // finished, and the pool keeps one array per returning thread. That process-wide cost (0-2 arrays, bounded by the
    // number of threads) divided over only 20 connections made the row bimodal (about 12 or 15.5 KB); over 100 it is
    // a tenth of a KB either way. Both clients are measured with the same count.
    private const int MemoryConnections = 100;

    /// <summary>Runs <c>scale --memory-child nucleon|rabbit --uri ...</c> and reads its one result line.</summary>
    private static async Task<(double PerChannel, double PerConnection)> MemoryInChildAsync(string uri, bool nucleon, int channels, int connections)
    {
        using var p = Process.Start(E2ERunner.SelfStartInfo("scale", "--memory-child", nucleon ? "nucleon" : "rabbit", "--uri", uri))!;
        try
        {
            string output = await p.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(120));
            await p.WaitForExitAsync();
            string? line = output.Split('\n').LastOrDefault(l => l.StartsWith("MEMORY ", StringComparison.Ordinal));
            if (p.ExitCode != 0 || line is null)
            {
                throw new InvalidOperationException($"the memory child failed (exit code {p.ExitCode}): {output}");
            }

            string[] f = line.Split(' ');
            if (int.Parse(f[3], CultureInfo.InvariantCulture) != channels || int.Parse(f[4], CultureInfo.InvariantCulture) != connections)
            {
                throw new InvalidOperationException($"unexpected counts from the memory child: {line}");
            }

            return (double.Parse(f[1], CultureInfo.InvariantCulture), double.Parse(f[2], CultureInfo.InvariantCulture));
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill();
            }
        }
    }

    /// <summary>In the child: connections first, then channels; prints <c>MEMORY perChannel perConnection channels connections</c>.</summary>
    private static async Task<int> MemoryChildMainAsync(string uri, bool nucleon)
    {
        const int channels = MemoryChannels, connections = MemoryConnections;
        double perConnection = nucleon ? await NucleonConnectionMemory(uri, connections) : await RabbitConnectionMemory(uri, connections);
        await Settle();
        double perChannel = nucleon ? await NucleonChannelMemory(uri, channels) : await RabbitChannelMemory(uri, channels);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"MEMORY {perChannel:R} {perConnection:R} {channels} {connections}"));
        return 0;
    }

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
        // One connection first, kept open: one-time costs (statics, pools' first arrays) are not counted per connection.
        await using var first = new AmqpConnection(uri);
        await first.ConnectAsync();
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
        var factory = new ConnectionFactory { Uri = new Uri(uri) };
        await using var first = await factory.CreateConnectionAsync();
        await Settle();
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

    /// <summary>Lets earlier work (closed connections, background tasks) finish before a memory count.</summary>
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

        var result = await PublishConcurrently(n, window, id => channels[id].PublishAsync("", Queue, BenchContext.Body32));
        await conn.CloseAsync();
        return result;
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

        var result = await PublishConcurrently(n, window, id => channels[id].BasicPublishAsync("", Queue, BenchContext.Body32));
        await conn.CloseAsync();
        return result;
    }

    /// <summary>
    /// Runs <paramref name="n"/> loops at once, each awaiting <paramref name="publish"/> for its own channel
    /// one after another, for <paramref name="window"/>; returns total msgs/s and the most / fewest
    /// messages of one loop.
    /// </summary>
    private static async Task<(double Rate, double Spread)> PublishConcurrently(int n, TimeSpan window, Func<int, ValueTask> publish)
    {
        var counts = new long[n];
        using var stop = new CancellationTokenSource();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); // all start together
        var tasks = new Task[n];
        for (int i = 0; i < n; i++)
        {
            int id = i;
            tasks[i] = Task.Run(async () =>
            {
                await go.Task;
                while (!stop.IsCancellationRequested)
                {
                    await publish(id);
                    counts[id]++;
                }
            });
        }

        var sw = Stopwatch.StartNew();
        go.SetResult();
        stop.CancelAfter(window);
        await Task.WhenAll(tasks).WaitAsync(window + TimeSpan.FromSeconds(60));
        double seconds = sw.Elapsed.TotalSeconds;
        return (counts.Sum() / seconds, counts.Max() / (double)Math.Max(1, counts.Min()));
    }

    // ------------------------------------------------------------------ opening a connection

    private const int OpenCount = 20;

    /// <summary>
    /// The median time to open a connection (TCP connect, the AMQP handshake, until the client hands back a usable
    /// connection), over <see cref="OpenCount"/> opened one after another, each closed before the next is opened.
    /// </summary>
    private static async Task<double> OpenTimeMs(string uri, bool nucleon)
    {
        var times = new double[OpenCount];
        var factory = new ConnectionFactory { Uri = new Uri(uri) };
        for (int i = 0; i < OpenCount; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            if (nucleon)
            {
                var conn = new AmqpConnection(uri);
                await conn.ConnectAsync();
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                await conn.DisposeAsync();
            }
            else
            {
                var conn = await factory.CreateConnectionAsync();
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                await conn.CloseAsync();
                await conn.DisposeAsync();
            }
        }

        return Meter.Median(times);
    }

    /// <summary>
    /// <c>scale --open-only N</c>: only the connection-open time, N rounds of both clients in turn after a warm-up round,
    /// each round's medians and their ratio printed (nothing written), to compare builds of the library.
    /// </summary>
    private static async Task OpenTimesOnlyAsync(string uri, int rounds)
    {
        var ratios = new List<double>();
        for (int round = 0; round <= rounds; round++)
        {
            double nucleon = await OpenTimeMs(uri, nucleon: true);
            double rabbit = await OpenTimeMs(uri, nucleon: false);
            if (round > 0)
            {
                ratios.Add(nucleon / rabbit);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {(round == 0 ? "warm-up" : $"round {round}"),-9} open: Nucleon.Pipes {nucleon,6:N2} ms  RabbitMQ.Client {rabbit,6:N2} ms  ratio {nucleon / rabbit:N2}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  median ratio {Meter.Median(ratios):N2} ({ratios.Min():N2}–{ratios.Max():N2})"));
    }

    // ------------------------------------------------------------------ idle CPU

    /// <summary>Process CPU time (ms) over <paramref name="window"/> while one connection sits idle.</summary>
    private static async Task<double> IdleCpu(string uri, bool nucleon, TimeSpan heartbeat, TimeSpan window)
    {
        double cpu;
        if (nucleon)
        {
            var options = AmqpConnectionOptions.Parse(uri) with { Heartbeat = heartbeat };
            await using var conn = new AmqpConnection(options);
            await conn.ConnectAsync();
            cpu = await CpuDuring(window);
            await conn.CloseAsync();
        }
        else
        {
            var factory = new ConnectionFactory { Uri = new Uri(uri), RequestedHeartbeat = heartbeat };
            await using var conn = await factory.CreateConnectionAsync();
            cpu = await CpuDuring(window);
            await conn.CloseAsync();
        }

        return cpu;
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
