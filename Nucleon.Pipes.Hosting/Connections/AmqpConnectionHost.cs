using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Nucleon.Pipes.Hosting.Connections;

/// <summary>
/// The lifetime of one named <see cref="AmqpConnection"/> inside a host: created from its settings and
/// hooks, connected when the host starts (waiting, bounded, or in the background), and on stop: its
/// consumers are stopped first (they settle what they hold on the open connection), publishes awaiting
/// their confirm are awaited, and only then is the connection closed. It also remembers the last error
/// for the health check.
/// </summary>
internal sealed class AmqpConnectionHost : IHostedService, IAsyncDisposable
{
    private readonly AmqpConnectionSettings _settings;
    private readonly ILogger _logger;
    private readonly List<IHostedService> _consumers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _lock = new();
    private Exception? _lastError;
    private Task? _backgroundConnect;
    private Task? _stop;

    public AmqpConnectionHost(AmqpConnectionRegistration registration, AmqpConnectionSettings settings, IServiceProvider services, ILogger logger)
    {
        Name = registration.Name;
        _settings = settings;
        _logger = logger;
        var options = settings.BuildOptions();
        if (options.LoggerFactory is NullLoggerFactory && services.GetService<ILoggerFactory>() is { } loggerFactory)
        {
            // The library logs to the host's logging unless ConfigureOptions gave it another factory.
            options = options with { LoggerFactory = loggerFactory };
        }

        if (options.MeterFactory is null && services.GetService<IMeterFactory>() is { } meterFactory)
        {
            // Likewise the host's meter factory, so the host's metrics listeners see the Nucleon.Pipes meter.
            options = options with { MeterFactory = meterFactory };
        }

        Connection = new AmqpConnection(options);
        foreach (var hook in registration.Hooks)
        {
            Connection.OnConnect((connection, ct) => hook(services, connection, ct));
        }

        Connection.OnError(OnErrorAsync);
    }

    public string Name { get; }

    public AmqpConnection Connection { get; }

    /// <summary>Confirmed publishes still waiting for the broker's answer.</summary>
    public InFlightCounter Publishes { get; } = new();

    /// <summary>
    /// While connecting or reconnecting, the connection's last failed attempt or loss; else the last error reported to
    /// OnError (a hook or callback that threw, the permanent failure).
    /// </summary>
    public Exception? LastError => State is AmqpConnectionState.Starting or AmqpConnectionState.Reconnecting
        ? Connection.LastError ?? Volatile.Read(ref _lastError)
        : Volatile.Read(ref _lastError) ?? Connection.LastError;

    public AmqpConnectionState State
    {
        get
        {
            var completion = Connection.Completion;
            if (completion.IsCompleted)
            {
                return _stopping.IsCancellationRequested || !completion.IsFaulted ? AmqpConnectionState.Closed : AmqpConnectionState.Failed;
            }

            if (Connection.IsConnected)
            {
                return Connection.IsBlocked ? AmqpConnectionState.Blocked : AmqpConnectionState.Connected;
            }

            return Connection.Generation == 0 ? AmqpConnectionState.Starting : AmqpConnectionState.Reconnecting;
        }
    }

    /// <summary>A hosted consumer on this connection: stopped before the connection closes, whatever the registration order.</summary>
    public void AddConsumer(IHostedService consumer)
    {
        lock (_lock)
        {
            _consumers.Add(consumer);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_settings.WaitForConnectionAtStartup)
        {
            _backgroundConnect = Task.Run(ConnectInBackgroundAsync, CancellationToken.None);
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            // Bounded by StartupTimeout through the options' InitialConnectTimeout.
            await Connection.ConnectAsync(linked.Token).ConfigureAwait(false);
            HostingLog.Connected(_logger, Name, Connection.CurrentEndpoint);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Volatile.Write(ref _lastError, ex);
            throw new InvalidOperationException($"AMQP connection '{Name}' did not start: {ex.Message}", ex);
        }
    }

    private async Task ConnectInBackgroundAsync()
    {
        try
        {
            await Connection.ConnectAsync(_stopping.Token).ConfigureAwait(false);
            HostingLog.Connected(_logger, Name, Connection.CurrentEndpoint);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Volatile.Write(ref _lastError, ex);
            HostingLog.FailedForGood(_logger, ex, Name);
        }
    }

    /// <summary>Idempotent: the first call's token bounds the whole shutdown.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _stop ??= StopCoreAsync(cancellationToken);
        }
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        IHostedService[] consumers;
        lock (_lock)
        {
            consumers = [.. _consumers];
        }

        await Task.WhenAll(consumers.Select(c => c.StopAsync(cancellationToken))).ConfigureAwait(false);
        try
        {
            await Publishes.WaitIdleAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            HostingLog.PublishesUnconfirmed(_logger, Name, Publishes.Count);
        }

        try
        {
            await Connection.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmqpException or OperationCanceledException)
        {
            HostingLog.CloseUnclean(_logger, ex, Name);
        }

        if (_backgroundConnect is { } connect)
        {
            await connect.ConfigureAwait(false);
        }
    }

    private ValueTask OnErrorAsync(AmqpConnection connection, Exception error)
    {
        Volatile.Write(ref _lastError, error);
        HostingLog.ConnectionError(_logger, error, Name, error.Message);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
