using System.Text.Json;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration;

/// <summary>
/// The end-to-end benchmark runner works against a real broker for both clients: every workload of issue 4
/// runs once with tiny counts (<c>e2e --smoke</c>) and reports a row per client, and the raw-socket ceiling client
/// (issue 14) completes its four rows against RabbitMQ too; the scaling and cold-start runners (issue 14) complete
/// and report every step. Timings are not asserted.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class BenchmarkSmokeTests(BrokerFixture broker)
{
    private static readonly string[] Rows =
        ["publish", "publish-confirm", "publish-parallel", "consume", "consume-autoack", "rpc", "rpc-direct", "rpc-direct-64", "large-publish", "large-consume", "fairness"];

    /// <summary>The rows the raw-socket ceiling client runs beside the two clients.</summary>
    private static readonly string[] CeilingRows = ["publish", "publish-confirm", "consume", "consume-autoack"];

    [Fact]
    public async Task E2e_runner_runs_every_workload_for_both_clients_against_the_broker()
    {
        string dll = BenchmarksAssembly();
        Assert.True(File.Exists(dll), $"benchmark runner not built at {dll}");
        string outDir = Directory.CreateTempSubdirectory("nucleon-bench-smoke-").FullName;
        try
        {
            var result = await ProcessRunner.RunAsync(
                "dotnet", [dll, "e2e", "--target", "broker", "--uri", broker.AmqpUri, "--smoke", "--out", outDir], TimeSpan.FromMinutes(4));
            Assert.True(result.ExitCode == 0, result.CombinedOutput);
            Assert.DoesNotContain("FAILED", result.StandardOutput, StringComparison.Ordinal);

            string json = Path.Combine(outDir, "results-broker-quick.json");
            Assert.True(File.Exists(json), result.CombinedOutput);
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var rows = doc.RootElement.GetProperty("Rows").EnumerateArray().ToDictionary(r => r.GetProperty("Row").GetString()!);
            foreach (string row in Rows)
            {
                Assert.True(rows.TryGetValue(row, out var r), $"no row {row} in {json}");
                foreach (string client in CeilingRows.Contains(row) ? new[] { "Nucleon", "Rabbit", "Ceiling" } : ["Nucleon", "Rabbit"])
                {
                    var summary = r.GetProperty(client);
                    Assert.True(summary.GetProperty("N").GetInt32() >= 1, $"{row}/{client}: no measured run");
                    Assert.True(summary.GetProperty("MsgsPerSec")[0].GetDouble() > 0, $"{row}/{client}: no messages");
                }
            }

            Assert.True(File.Exists(Path.Combine(outDir, "results.md")));
            Assert.True(File.Exists(Path.Combine(outDir, "ratios.svg")));
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    [Fact]
    public async Task Scaling_runner_counts_every_publish_of_every_channel_where_it_arrives()
    {
        // The runner fails (exit code 1) unless the tracking null broker saw exactly each channel's publishes.
        string md = await RunReportAsync("scaling.md", "scaling", "--smoke", "--uri", broker.AmqpUri);
        foreach (string step in new[] { "1 connection × 1 channel", "1 connection × 1,000 channels", "16 connections × 1 channel" })
        {
            Assert.Contains($"| {step} | Nucleon.Pipes |", md, StringComparison.Ordinal);
            Assert.Contains($"| {step} | RabbitMQ.Client |", md, StringComparison.Ordinal);
        }

        Assert.Contains("## Against RabbitMQ", md, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cold_start_runner_measures_first_runs_in_fresh_processes()
    {
        // Without --r2r: the three JIT configurations, each a fresh child process per client.
        string md = await RunReportAsync("cold-start.md", "coldstart", "--smoke", "--only", "publish-confirm");
        foreach (string client in new[] { "Nucleon.Pipes", "RabbitMQ.Client" })
        {
            foreach (string config in new[] { "JIT, default (tiered, TieredPGO on)", "JIT, TieredPGO off", "JIT, TieredCompilation off" })
            {
                Assert.Contains($"| publish-confirm | {client} | {config} |", md, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>Runs the benchmark program with <paramref name="args"/> and <c>--out</c> a temporary directory; returns its <paramref name="report"/>.</summary>
    private static async Task<string> RunReportAsync(string report, params string[] args)
    {
        string dll = BenchmarksAssembly();
        Assert.True(File.Exists(dll), $"benchmark runner not built at {dll}");
        string outDir = Directory.CreateTempSubdirectory("nucleon-bench-report-").FullName;
        try
        {
            var result = await ProcessRunner.RunAsync("dotnet", [dll, .. args, "--out", outDir], TimeSpan.FromMinutes(4));
            Assert.True(result.ExitCode == 0, result.CombinedOutput);
            return await File.ReadAllTextAsync(Path.Combine(outDir, report));
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    /// <summary>The runner built next to this test assembly's configuration (…/Nucleon.Pipes.Tests/bin/CONFIG/TFM/).</summary>
    private static string BenchmarksAssembly()
    {
        var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = tfmDir.Name;
        string configuration = tfmDir.Parent!.Name;
        var testProjectDir = tfmDir.Parent!.Parent!.Parent!;
        return Path.Combine(testProjectDir.Parent!.FullName, "Nucleon.Pipes.Benchmarks", "bin", configuration, tfm, "Nucleon.Pipes.Benchmarks.dll");
    }
}
