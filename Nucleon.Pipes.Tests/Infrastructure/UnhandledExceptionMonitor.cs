using System.Collections.Concurrent;

namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>
/// Records exceptions that escape to <see cref="AppDomain.UnhandledException"/> or
/// <see cref="TaskScheduler.UnobservedTaskException"/> while the tests of a collection run.
/// Only exceptions thrown by or through Nucleon.Pipes count, so other libraries' leftovers
/// in the same test process (e.g. the interop tests' client) cannot fail these tests.
/// </summary>
public sealed class UnhandledExceptionMonitor : IDisposable
{
    private readonly ConcurrentQueue<Exception> _seen = new();

    public UnhandledExceptionMonitor()
    {
        AppDomain.CurrentDomain.UnhandledException += OnUnhandled;
        TaskScheduler.UnobservedTaskException += OnUnobserved;
    }

    /// <summary>Forces finalization of abandoned tasks, then asserts nothing from Nucleon.Pipes went unobserved.</summary>
    public void AssertNone()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var ours = _seen.Where(e => e.ToString().Contains("Nucleon.Pipes", StringComparison.Ordinal)).ToList();
        Assert.True(ours.Count == 0, "Unhandled/unobserved exceptions: " + string.Join(Environment.NewLine, ours));
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.UnhandledException -= OnUnhandled;
        TaskScheduler.UnobservedTaskException -= OnUnobserved;
    }

    private void OnUnhandled(object? sender, UnhandledExceptionEventArgs e)
    {
        if (e.ExceptionObject is Exception ex)
        {
            _seen.Enqueue(ex);
        }
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => _seen.Enqueue(e.Exception);
}

/// <summary>
/// Tests against the scripted (hostile) server. They run alone (no other collection in parallel) so
/// that process-wide allocation measurements are meaningful and no other test's leftovers interfere.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostileCollection : ICollectionFixture<UnhandledExceptionMonitor>
{
    public const string Name = "Hostile server";
}
