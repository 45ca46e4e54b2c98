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

    /// <summary>The delay after a failed attempt (connect, handshake or hooks).</summary>
    public TimeSpan AfterFailedAttempt()
    {
        _failures++;
        return NextDelay();
    }

    /// <summary>The delay after an established connection was lost.</summary>
    public TimeSpan AfterLoss()
    {
        if (options.TimeProvider.GetElapsedTime(_upSince) >= options.ReconnectMaxDelay)
        {
            _failures = 0;
        }

        _failures++;
        return NextDelay();
    }

    /// <summary>Waits <paramref name="delay"/>; ends early, without throwing, when the token fires.</summary>
    public async Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private TimeSpan NextDelay()
    {
        double initial = options.ReconnectInitialDelay.TotalMilliseconds;
        double capped = Math.Min(options.ReconnectMaxDelay.TotalMilliseconds, initial * Math.Pow(2, Math.Min(_failures - 1, 30)));
        return TimeSpan.FromMilliseconds((capped / 2) + (Random.Shared.NextDouble() * capped / 2));
    }
}
