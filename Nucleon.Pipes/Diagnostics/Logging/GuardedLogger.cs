using Microsoft.Extensions.Logging;

namespace Nucleon.Pipes.Diagnostics.Logging;

/// <summary>
/// Forwards to the application's logger and swallows what it throws: events are logged from the connection's
/// reader, writer and supervisor, and a broken log sink (Microsoft's <c>LoggerFactory</c> rethrows its providers'
/// exceptions) must never take the connection down with it.
/// </summary>
internal sealed class GuardedLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull
    {
        try
        {
            return inner.BeginScope(state);
        }
        catch (Exception)
        {
            return null;
        }
    }

    public bool IsEnabled(LogLevel logLevel)
    {
        try
        {
            return inner.IsEnabled(logLevel);
        }
        catch (Exception)
        {
            return false;
        }
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
        catch (Exception)
        {
            // Nowhere to report it: OnError is for the application's own code, and logging it would throw again.
        }
    }
}
