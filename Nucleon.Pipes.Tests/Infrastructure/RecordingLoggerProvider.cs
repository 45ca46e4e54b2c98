using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>One log call as the provider saw it: the formatted line, and the structured fields one by one.</summary>
public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception,
    IReadOnlyList<KeyValuePair<string, object?>> Fields)
{
    /// <summary>A structured field's value, or null when the event has no such field.</summary>
    public object? this[string field] => Fields.FirstOrDefault(f => f.Key == field).Value;

    public override string ToString() => $"{Category} {Level} {EventId.Id} {EventId.Name}: {Message}";
}

/// <summary>
/// An in-memory <see cref="ILoggerProvider"/> for tests: keeps every entry, in order, and lets a test await the
/// next entry with a given event id. <see cref="CreateFactory"/> puts it behind the real <see cref="LoggerFactory"/>,
/// so level filtering and <see cref="ILogger.IsEnabled"/> work as in an application.
/// </summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly Channel<LogEntry> _stream = Channel.CreateUnbounded<LogEntry>();
    private long _isEnabledCalls;

    /// <summary>How often the library asked whether a level is enabled: what a disabled log costs it.</summary>
    public long IsEnabledCalls => Interlocked.Read(ref _isEnabledCalls);

    /// <summary>Every entry so far, in the order they were written.</summary>
    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>A logger factory that writes to this provider from <paramref name="minimum"/> up.</summary>
    public ILoggerFactory CreateFactory(LogLevel minimum = LogLevel.Trace) =>
        LoggerFactory.Create(builder => builder.SetMinimumLevel(minimum).AddProvider(this));

    /// <summary>The entries with <paramref name="eventId"/>, in order.</summary>
    public IReadOnlyList<LogEntry> Events(int eventId) => [.. _entries.Where(e => e.EventId.Id == eventId)];

    /// <summary>The exceptions of the failed connection attempts so far (event 1002), in order.</summary>
    public IReadOnlyList<Exception> AttemptFailures => [.. Events(LogEvents.AttemptFailed).Select(e => e.Exception!)];

    /// <summary>
    /// Reads on from where the last call stopped until an entry with <paramref name="eventId"/> arrives (one reader
    /// at a time); bounded by <paramref name="cancellationToken"/>.
    /// </summary>
    public async Task<LogEntry> NextAsync(int eventId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var entry = await _stream.Reader.ReadAsync(cancellationToken);
            if (entry.EventId.Id == eventId)
            {
                return entry;
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() => _stream.Writer.TryComplete();

    private void Add(LogEntry entry)
    {
        _entries.Enqueue(entry);
        _stream.Writer.TryWrite(entry);
    }

    private sealed class Logger(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel)
        {
            Interlocked.Increment(ref owner._isEnabledCalls);
            return logLevel != LogLevel.None;
        }

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            owner.Add(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception, [.. fields]));
        }
    }
}
