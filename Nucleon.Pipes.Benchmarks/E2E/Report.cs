using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nucleon.Pipes.Benchmarks.E2E;

/// <summary>Renders results-*.json into benchmarks/results.md and benchmarks/ratios.svg.</summary>
internal static class Report
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static string F(double v, string fmt = "N1") =>
        double.IsNaN(v) ? "–" : v.ToString(fmt, CultureInfo.InvariantCulture);

    private static string Spread(double[] s, string fmt = "N1") =>
        double.IsNaN(s[0]) ? "–" : $"{F(s[0], fmt)} ({F(s[1], fmt)}–{F(s[2], fmt)})";

    private static double Ratio(double a, double b) => double.IsNaN(a) || double.IsNaN(b) || b == 0 ? double.NaN : a / b;

    private static string Percent(double v) => double.IsNaN(v) ? "–" : v.ToString("P1", CultureInfo.InvariantCulture);

    /// <summary>
    /// Each client's msgs/s as a share of the raw-socket ceiling's (medians), for the rows the ceiling runs; issue 14
    /// asks Nucleon.Pipes for at least 20 % of it on the null broker.
    /// </summary>
    public static string CeilingShare(RowSummary r, bool nullTarget)
    {
        double ceiling = r.Ceiling.MsgsPerSec[0];
        if (double.IsNaN(ceiling))
        {
            return "–";
        }

        double nucleon = Ratio(r.Nucleon.MsgsPerSec[0], ceiling);
        string mark = !nullTarget || double.IsNaN(nucleon) ? "" : nucleon >= 0.2 ? " ✅" : " ❌";
        return $"{Percent(nucleon)}{mark} / {Percent(Ratio(r.Rabbit.MsgsPerSec[0], ceiling))}";
    }

    private static bool IsLarge(string row) => row.StartsWith("large", StringComparison.Ordinal);

    private static bool HasLatency(string row) => row is "rpc" or DirectReplyToWorkloads.OneCaller or DirectReplyToWorkloads.ManyCallers or "fairness";

    /// <summary>The bars of the chart and the ratio column: (label, ratio N/R, higher is better).</summary>
    public static IEnumerable<(string Metric, double Ratio, bool HigherIsBetter)> Ratios(RowSummary r)
    {
        if (IsLarge(r.Row))
        {
            yield return ("MB/s", Ratio(r.Nucleon.MBPerSec[0], r.Rabbit.MBPerSec[0]), true);
        }
        else if (!HasLatency(r.Row))
        {
            yield return ("msgs/s", Ratio(r.Nucleon.MsgsPerSec[0], r.Rabbit.MsgsPerSec[0]), true);
        }

        yield return ("CPU/msg", Ratio(r.Nucleon.CpuUsPerMsg[0], r.Rabbit.CpuUsPerMsg[0]), false);
        yield return ("B/msg", Ratio(r.Nucleon.AllocPerMsg[0], r.Rabbit.AllocPerMsg[0]), false);
        if (HasLatency(r.Row))
        {
            yield return ("p50", Ratio(r.Nucleon.P50Ms[0], r.Rabbit.P50Ms[0]), false);
            yield return ("p99", Ratio(r.Nucleon.P99Ms[0], r.Rabbit.P99Ms[0]), false);
            yield return ("max", Ratio(r.Nucleon.MaxMs[0], r.Rabbit.MaxMs[0]), false);
        }
    }

    /// <summary>The issue's targets, evaluated on the medians: (text, met?).</summary>
    public static (string Text, bool? Met) Target(RowSummary r, bool nullTarget)
    {
        double thr = Ratio(r.Nucleon.MsgsPerSec[0], r.Rabbit.MsgsPerSec[0]);
        double cpu = Ratio(r.Nucleon.CpuUsPerMsg[0], r.Rabbit.CpuUsPerMsg[0]);
        double alloc = r.Nucleon.AllocPerMsg[0];
        double p50 = Ratio(r.Nucleon.P50Ms[0], r.Rabbit.P50Ms[0]);
        double mb = Ratio(r.Nucleon.MBPerSec[0], r.Rabbit.MBPerSec[0]);
        if (double.IsNaN(r.Nucleon.CpuUsPerMsg[0]) || double.IsNaN(r.Rabbit.CpuUsPerMsg[0]))
        {
            return ("no data", null);
        }

        // "0 B/msg" is judged as < 1 B/msg: a few per-run objects (connection, channel, consumer) amortise to a fraction of a byte.
        return (r.Row, nullTarget) switch
        {
            ("publish" or "publish-confirm" or "publish-batch", true) => ("≥ 3× msgs/s, 0 B/msg", thr >= 3 && alloc < 1),
            ("publish", false) => ("≥ 1.0× msgs/s, ≤ 0.33× CPU/msg", thr >= 1.0 && cpu <= 0.33),
            ("publish-confirm" or "publish-batch", false) => ("≥ 1.3× msgs/s, ≤ 0.33× CPU/msg", thr >= 1.3 && cpu <= 0.33),
            ("publish-parallel", true) => ("≥ 2× msgs/s", thr >= 2),
            ("publish-parallel", false) => ("≥ 1.0× msgs/s, ≤ 0.5× CPU/msg", thr >= 1.0 && cpu <= 0.5),
            ("consume" or "consume-autoack", true) => ("≥ 2× msgs/s, ≤ 8 B/msg", thr >= 2 && alloc <= 8),
            ("consume" or "consume-autoack", false) => ("≥ 1.3× msgs/s, ≤ 0.33× CPU/msg", thr >= 1.3 && cpu <= 0.33),
            ("rpc", true) => ("p50 ≤ 0.7×", p50 <= 0.7),
            ("rpc", false) => ("p50 ≤ 0.8×", p50 <= 0.8),
            ("large-publish" or "large-consume", _) => ("≥ 1.0× MB/s", mb >= 1.0),
            ("fairness", _) => ("Nucleon small-publish p99 < 10 ms", r.Nucleon.P99Ms[0] < 10),
            _ => ("", null),
        };
    }

    public static string Markdown(RunReport rep)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"### Target: {(rep.Target == "null" ? "null broker (loopback, separate process)" : "real RabbitMQ")}{(rep.Quick ? $" — quick (counts ÷ {rep.Divisor})" : "")}{(rep.Tag is null ? "" : $" — {rep.Tag} rows run on their own")}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"- date: {rep.Date}; machine: {rep.Cores} cores, {rep.Os}; {rep.DotNet}; server: {rep.Server}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- command: `{rep.CommandLine}`");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- {rep.Runs} measured runs per client after a warm-up of at least 2 s (1 run in quick mode), alternating Nucleon.Pipes / RabbitMQ.Client 7.2.2 / the ceiling client (a raw socket writing frames encoded before the clock starts, 1 MiB per send; publish, publish-confirm, consume and consume-autoack only); cells are median (min–max). CPU is the client process's CPU time per message; \"server CPU\" is the broker process's (null broker or beam.smp) CPU per message, from /proc.");
        sb.AppendLine();
        sb.AppendLine("| workload | client | msgs/s | MB/s | client CPU µs/msg | alloc B/msg | gen0/1/2 | server CPU µs/msg | thread-pool items/msg | context switches/msg | p50 ms | p99 ms | max ms |");
        sb.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rep.Rows)
        {
            foreach (var (name, c) in new[] { ("Nucleon.Pipes", r.Nucleon), ("RabbitMQ.Client", r.Rabbit), ("ceiling (raw socket)", r.Ceiling) })
            {
                if (c.N == 0 && name.StartsWith("ceiling", StringComparison.Ordinal))
                {
                    continue;
                }

                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {r.Row} | {name} | {Spread(c.MsgsPerSec, "N0")} | {Spread(c.MBPerSec, "N1")} | {Spread(c.CpuUsPerMsg, "N2")} | {Spread(c.AllocPerMsg, "N1")} | {F(c.Gen0, "N0")}/{F(c.Gen1, "N0")}/{F(c.Gen2, "N0")} | {Spread(c.ServerCpuUsPerMsg, "N2")} | {Spread(c.ThreadPoolItemsPerMsg, "N2")} | {Spread(c.ContextSwitchesPerMsg, "N2")} | {Spread(c.P50Ms, "N3")} | {Spread(c.P99Ms, "N3")} | {Spread(c.MaxMs, "N3")} |");
            }
        }

        sb.AppendLine();
        sb.AppendLine("Ratios Nucleon.Pipes / RabbitMQ.Client (medians), each client's msgs/s as a share of the ceiling's (Nucleon.Pipes / RabbitMQ.Client; issue 14's target is ≥ 20 % for Nucleon.Pipes on the null broker) and issue 4's targets:");
        sb.AppendLine();
        sb.AppendLine("| workload | ratios | share of the ceiling | target | met |");
        sb.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var r in rep.Rows)
        {
            string ratios = string.Join(", ", Ratios(r).Select(x => $"{x.Metric} {F(x.Ratio, "N2")}×"));
            var (text, met) = Target(r, rep.Target == "null");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Row} | {ratios} | {CeilingShare(r, rep.Target == "null")} | {text} | {(met is null ? "–" : met.Value ? "✅ met" : "❌ missed")} |");
        }

        return sb.ToString();
    }

    public static void WriteAll(string dir)
    {
        var reports = new List<RunReport>();
        // Full runs first, then quick ones; null broker before real broker.
        foreach (string f in Directory.GetFiles(dir, "results-*.json").OrderBy(f => f.Contains("quick", StringComparison.Ordinal)).ThenByDescending(f => f.Contains("null", StringComparison.Ordinal)))
        {
            reports.Add(JsonSerializer.Deserialize<RunReport>(File.ReadAllText(f), Json)!);
        }

        var sb = new StringBuilder();
        sb.AppendLine("# Nucleon.Pipes vs RabbitMQ.Client 7.2.2 — end-to-end results");
        sb.AppendLine();
        sb.AppendLine("Generated by `Nucleon.Pipes.Benchmarks e2e` (see `scripts/bench.sh`). Workloads as in issue 4: publish (1,000,000 × 32 B, no confirms, then one round trip), publish-confirm (200,000 × 32 B, ≤ 1,000 outstanding, one task), publish-batch (the same 200,000 through Nucleon.Pipes' `PublishBatchAsync`, lists of 10,000, ≤ 1,024 outstanding; RabbitMQ.Client, which has no batch publish, runs its publish-confirm loop), publish-parallel (16 tasks × 16 channels × 50,000, confirms, ≤ 1,000 outstanding per task), consume (1,000,000 × 32 B pre-filled, prefetch 1,000, ack multiple every 100) and consume-autoack, rpc (20,000 sequential round trips; against the null broker the broker echoes the request to reply-to, against RabbitMQ a responder of the same client library runs in the same process on its own connection), large (200 × 4 MiB publish with ≤ 16 confirms outstanding, then consume with prefetch 10), fairness (100 sequential confirmed 32-byte publishes on one channel while a 64 MiB message is published on another), rpc-direct and rpc-direct-64 (issue 10: RPC over direct reply-to with each library's own client and server, the server on its own connection in the same process with 8 handlers and prefetch 16, replying then acking; 5,000 calls from 1 caller and 20,000 from 64 callers sharing one client channel; latency from the start of a call to its reply; allocation counts client and server; on the null broker no server runs, the broker echoes each call to the reply consumer). The ceiling client (issue 14) runs publish, publish-confirm, consume and consume-autoack on a raw socket: the real handshake, then frames encoded before the clock starts, written back to back in 1 MiB sends, and incoming frames parsed in place; it is what this machine and this server allow with no client library in the way. Quick runs divide the counts by 10.");
        sb.AppendLine();
        sb.AppendLine("![ratios](ratios.svg)");
        sb.AppendLine();
        foreach (var r in reports)
        {
            sb.AppendLine(Markdown(r));
        }

        // The hand-written part: where targets are missed and what the profiles say.
        foreach (string notes in new[] { "analysis.md", "observability.md" })
        {
            string path = Path.Combine(dir, notes);
            if (File.Exists(path))
            {
                sb.AppendLine(File.ReadAllText(path));
            }
        }

        File.WriteAllText(Path.Combine(dir, "results.md"), sb.ToString());
        File.WriteAllText(Path.Combine(dir, "ratios.svg"), Svg(reports));
    }

    public static string Svg(List<RunReport> reports)
    {
        var bars = new List<(string Group, string Label, double Ratio, bool Better)>();
        foreach (var rep in reports)
        {
            string group = (rep.Target == "null" ? "null broker" : "RabbitMQ") + (rep.Quick ? " (quick)" : "");
            foreach (var r in rep.Rows)
            {
                foreach (var (metric, ratio, higher) in Ratios(r))
                {
                    if (!double.IsNaN(ratio))
                    {
                        bars.Add((group, $"{r.Row} {metric}", ratio, higher ? ratio >= 1 : ratio <= 1));
                    }
                }
            }
        }

        const int left = 300, width = 560, rowH = 16, top = 60;
        int height = top + (bars.Count * rowH) + (reports.Count * 24) + 50;
        // Log scale from 0.01× to 100×.
        double X(double ratio) => left + ((Math.Log10(Math.Clamp(ratio, 0.01, 100)) + 2) / 4 * width);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{left + width + 80}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.AppendLine("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        sb.AppendLine("<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Nucleon.Pipes / RabbitMQ.Client 7.2.2 (medians, log scale)</text>");
        sb.AppendLine("<text x=\"10\" y=\"38\">green: Nucleon better (higher msgs/s or MB/s; lower CPU, allocation, latency); red: worse. Line at 1.0×.</text>");
        foreach (double tick in new[] { 0.01, 0.1, 1, 10, 100 })
        {
            double x = X(tick);
            sb.AppendLine(CultureInfo.InvariantCulture, $"<line x1=\"{x:F1}\" y1=\"{top - 8}\" x2=\"{x:F1}\" y2=\"{height - 30}\" stroke=\"{(tick == 1 ? "black" : "#ddd")}\" stroke-width=\"{(tick == 1 ? 2 : 1)}\"/>");
            sb.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{x:F1}\" y=\"{height - 14}\" text-anchor=\"middle\">{tick.ToString(CultureInfo.InvariantCulture)}×</text>");
        }

        int y = top;
        string? current = null;
        foreach (var b in bars)
        {
            if (b.Group != current)
            {
                current = b.Group;
                y += 8;
                sb.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"10\" y=\"{y + 4}\" font-weight=\"bold\">{current}</text>");
                y += 16;
            }

            double x1 = X(1), x2 = X(b.Ratio);
            double xs = Math.Min(x1, x2), w = Math.Max(1, Math.Abs(x2 - x1));
            sb.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{left - 6}\" y=\"{y + 11}\" text-anchor=\"end\">{b.Label}</text>");
            sb.AppendLine(CultureInfo.InvariantCulture, $"<rect x=\"{xs:F1}\" y=\"{y + 2}\" width=\"{w:F1}\" height=\"{rowH - 4}\" fill=\"{(b.Better ? "#3a9d5d" : "#d0533f")}\"/>");
            sb.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{Math.Max(x1, x2) + 4:F1}\" y=\"{y + 11}\">{b.Ratio.ToString(b.Ratio < 0.1 ? "0.000" : "0.00", CultureInfo.InvariantCulture)}×</text>");
            y += rowH;
        }

        sb.AppendLine("</svg>");
        return sb.ToString();
    }
}
