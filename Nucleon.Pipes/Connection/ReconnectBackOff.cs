namespace Nucleon.Pipes.Connection;

/// <summary>
/// The supervisor's delays between attempts: exponential from <see cref="AmqpConnectionOptions.ReconnectInitialDelay"/>
/// to <see cref="AmqpConnectionOptions.ReconnectMaxDelay"/>, half of each delay random ("equal jitter") so
/// clients do not reconnect in lockstep. It starts again from the initial delay only after a connection
/// stayed up for <see cref="AmqpConnectionOptions.ReconnectMaxDelay"/>: a broker that accepts each
/// connection and drops it at once must not get a reconnect every 50-100 ms.
/// </summary>
internal sealed class ReconnectBackOff(AmqpConnectionOptions options)
{
    private int _failures;
    private long _upSince;

    /// <summary>A connection is up and handed out (its hooks have run).</summary>
    public void ConnectionUp() => _upSince = options.TimeProvider.GetTimestamp();

    /// <summary>Waits after a failed attempt (connect, handshake or hooks); ends early, without throwing, when the token fires.</summary>
    public Task AfterFailedAttemptAsync(CancellationToken cancellationToken)
    {
        _failures++;
        return DelayAsync(cancellationToken);
    }

    /// <summary>Waits after an established connection was lost.</summary>
    public Task AfterLossAsync(CancellationToken cancellationToken)
    {
        if (options.TimeProvider.GetElapsedTime(_upSince) >= options.ReconnectMaxDelay)
        {
            _failures = 0;
        }

        _failures++;
        return DelayAsync(cancellationToken);
    }

    private async Task DelayAsync(CancellationToken cancellationToken)
    {
        double initial = options.ReconnectInitialDelay.TotalMilliseconds;
        double capped = Math.Min(options.ReconnectMaxDelay.TotalMilliseconds, initial * Math.Pow(2, Math.Min(_failures - 1, 30)));
        var delay = TimeSpan.FromMilliseconds((capped / 2) + (Random.Shared.NextDouble() * capped / 2));
        try
        {
            await Task.Delay(delay, options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
