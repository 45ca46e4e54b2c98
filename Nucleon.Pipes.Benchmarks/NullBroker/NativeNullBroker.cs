using System.Diagnostics;

namespace Nucleon.Pipes.Benchmarks.NullBroker;

/// <summary>
/// The C null broker (<c>native/nullbroker.c</c>): the handshake, replies and command-line contract of
/// <see cref="NullBrokerServer"/> at a small fraction of its CPU per message, so a null-broker row measures the client
/// alone. It is compiled with the machine's <c>cc</c> on first use, into <c>nullbroker-native/</c> beside this
/// assembly, and again whenever the source is newer than the binary.
/// </summary>
internal static class NativeNullBroker
{
    /// <summary>The server named in the report header when the C null broker ran.</summary>
    public const string Label = "C null broker (nullbroker.c)";

    /// <summary>The server named in the report header when the .NET null broker ran.</summary>
    public const string DotNetLabel = ".NET null broker (NullBrokerServer.cs)";

    /// <summary>The flags the runner and scripts/null-broker-smoke.sh compile with (warnings are errors).</summary>
    public static readonly string[] CompileFlags = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread"];

    public static string SourcePath(string repo) => Path.Combine(repo, "Nucleon.Pipes.Benchmarks", "NullBroker", "native", "nullbroker.c");

    /// <summary>The C compiler <c>cc</c> on PATH; null when there is none.</summary>
    public static string? FindCompiler()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string path = Path.Combine(dir, "cc");
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>The compiled server: built from <paramref name="source"/> first when it is missing or older than the source.</summary>
    /// <exception cref="InvalidOperationException">The compiler failed; the message carries its output.</exception>
    public static async Task<string> EnsureBuiltAsync(string compiler, string source)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "nullbroker-native");
        string binary = Path.Combine(dir, "nullbroker");
        if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) >= File.GetLastWriteTimeUtc(source))
        {
            return binary;
        }

        Directory.CreateDirectory(dir);
        // Built under a name of its own, then moved: a runner starting at the same time never runs half a binary.
        string temp = $"{binary}.{Environment.ProcessId}.tmp";
        var psi = new ProcessStartInfo(compiler) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string flag in CompileFlags)
        {
            psi.ArgumentList.Add(flag);
        }

        psi.ArgumentList.Add("-o");
        psi.ArgumentList.Add(temp);
        psi.ArgumentList.Add(source);
        using var cc = Process.Start(psi)!;
        var stdout = cc.StandardOutput.ReadToEndAsync();
        var stderr = cc.StandardError.ReadToEndAsync();
        await cc.WaitForExitAsync();
        if (cc.ExitCode != 0)
        {
            File.Delete(temp);
            throw new InvalidOperationException($"{compiler} {string.Join(' ', CompileFlags)} {source} failed (exit {cc.ExitCode}):\n{await stdout}{await stderr}");
        }

        File.Move(temp, binary, overwrite: true);
        return binary;
    }

    /// <summary>How to start it as the e2e runner starts the .NET one: <c>--port 0</c>, stdin and stdout redirected.</summary>
    public static ProcessStartInfo StartInfo(string binary) => new(binary)
    {
        ArgumentList = { "--port", "0" },
        RedirectStandardInput = true,
        RedirectStandardOutput = true,
        UseShellExecute = false,
    };
}
