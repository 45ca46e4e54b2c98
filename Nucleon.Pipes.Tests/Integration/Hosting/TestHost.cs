using Microsoft.Extensions.Hosting;

namespace Nucleon.Pipes.Tests.Integration.Hosting;

/// <summary>A Generic Host under test: always stopped (bounded) and disposed, so no connection outlives its test.</summary>
public sealed class TestHost(IHost host) : IAsyncDisposable
{
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(60);
    private bool _stopped;

    public IHost Host { get; } = host;

    public IServiceProvider Services => Host.Services;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Host.StartAsync(cancellationToken);
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException)
        {
            // Validation failed before any hosted service started: there is nothing to stop (and the host cannot).
            _stopped = true;
            throw;
        }
    }

    /// <summary>Stops the host; <paramref name="shutdownTimeout"/> is the token the hosted services get.</summary>
    public async Task StopAsync(TimeSpan shutdownTimeout)
    {
        _stopped = true;
        using var cts = new CancellationTokenSource(shutdownTimeout);
        await Host.StopAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            await StopAsync(StopBound);
        }

        if (Host is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync();
        }
        else
        {
            Host.Dispose();
        }
    }
}
