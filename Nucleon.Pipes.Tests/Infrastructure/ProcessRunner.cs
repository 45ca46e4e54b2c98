using System.Diagnostics;
using System.Text;

namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>The outcome of a finished process.</summary>
public sealed record ProcessResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
{
    /// <summary>Standard output and standard error, for messages.</summary>
    public string CombinedOutput => StandardError.Length == 0 ? StandardOutput : $"{StandardOutput}\n[stderr]\n{StandardError}";
}

/// <summary>Thrown when a process exits non-zero or runs past its timeout.</summary>
public sealed class ProcessFailedException : Exception
{
    public ProcessFailedException(string message) : base(message) { }
    public ProcessFailedException(string message, Exception inner) : base(message, inner) { }
    public ProcessFailedException() { }

    public ProcessResult? Result { get; init; }
}

/// <summary>Runs a process with a timeout, capturing its output; kills the process tree on timeout.</summary>
public static class ProcessRunner
{
    /// <summary>Runs <paramref name="fileName"/> and returns its result whatever the exit code; throws on timeout.</summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        if (workingDirectory is not null)
        {
            psi.WorkingDirectory = workingDirectory;
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null)
                {
                    psi.Environment.Remove(key);
                }
                else
                {
                    psi.Environment[key] = value;
                }
            }
        }

        var commandLine = fileName + " " + string.Join(' ', psi.ArgumentList.Select(Quote));
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };

        var sw = Stopwatch.StartNew();
        if (!process.Start())
        {
            throw new ProcessFailedException($"Could not start: {commandLine}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // already exited
            }

            var partial = new ProcessResult(commandLine, -1, Snapshot(stdout), Snapshot(stderr), sw.Elapsed);
            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException($"Cancelled: {commandLine}", ex, cancellationToken);
            }

            throw new ProcessFailedException(
                $"Timed out after {timeout.TotalSeconds:0.#} s (process tree killed): {commandLine}\n{partial.CombinedOutput}", ex)
            { Result = partial };
        }

        return new ProcessResult(commandLine, process.ExitCode, Snapshot(stdout), Snapshot(stderr), sw.Elapsed);
    }

    /// <summary>Like <see cref="RunAsync"/>, but throws <see cref="ProcessFailedException"/> with the output on a non-zero exit.</summary>
    public static async Task<ProcessResult> RunCheckedAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(fileName, arguments, timeout, workingDirectory, environment, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new ProcessFailedException(
                $"Exit code {result.ExitCode} after {result.Elapsed.TotalSeconds:0.#} s: {result.CommandLine}\n{result.CombinedOutput}")
            { Result = result };
        }

        return result;
    }

    private static string Snapshot(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString().TrimEnd();
        }
    }

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./:@=,+".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";
}
