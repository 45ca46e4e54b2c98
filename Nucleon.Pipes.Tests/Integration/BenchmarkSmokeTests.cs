using System.Text.Json;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration;

/// <summary>
/// The end-to-end benchmark runner works against a real broker for both clients: every workload of issue 4
/// runs once with tiny counts (<c>e2e --smoke</c>) and reports a row per client. Timings are not asserted.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class BenchmarkSmokeTests(BrokerFixture broker)
{
    private static readonly string[] Rows =
        ["publish", "publish-confirm", "publish-parallel", "consume", "consume-autoack", "rpc", "rpc-direct", "rpc-direct-64", "large-publish", "large-consume", "fairness"];

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
                foreach (string client in new[] { "Nucleon", "Rabbit" })
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
