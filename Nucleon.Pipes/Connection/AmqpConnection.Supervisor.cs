using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes;

// The supervisor: one task per AmqpConnection that connects, runs the hooks, opens the gate for
// renters, waits for the connection to end, and starts over with back-off, until closed.
public sealed partial class AmqpConnection
{
    private async Task SuperviseAsync()
    {
        var token = _closing.Token;
        int endpointIndex = 0;
        int failures = 0;
        while (!token.IsCancellationRequested)
        {
            var endpoint = Options.Endpoints[endpointIndex % Options.Endpoints.Count];
            ConnectionSession session;
            try
            {
                session = await ConnectionSession.OpenAsync(this, Options, endpoint, Generation + 1, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                _lastError = ex;
                await ReportAsync(ex).ConfigureAwait(false);
                if (IsPermanent(ex))
                {
                    await ShutdownAsync(ex).ConfigureAwait(false);
                    return;
                }

                endpointIndex++;
                failures++;
                await BackOffAsync(failures, token).ConfigureAwait(false);
                continue;
            }
            catch (Exception)
            {
                break;
            }

            Interlocked.Increment(ref _generation);
            session.HooksRunning = true;
            Volatile.Write(ref _current, session);
            if (token.IsCancellationRequested)
            {
                // CloseAsync ran while we were connecting and saw no session to close.
                await session.CloseAsync(AmqpReplyCode.Success, "Goodbye", TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                break;
            }

            try
            {
                await RunHooksAsync(session, token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                session.HooksRunning = false;
                var failure = ex is OperationCanceledException && token.IsCancellationRequested
                    ? ex
                    : new AmqpException($"An on-connect hook failed on connection generation {session.Generation}; reconnecting: {ex.Message}", ex);
                _lastError = failure;
                await session.CloseAsync(AmqpReplyCode.Success, "On-connect hook failed", TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                if (token.IsCancellationRequested)
                {
                    break;
                }

                await ReportAsync(failure).ConfigureAwait(false);
                failures++;
                await BackOffAsync(failures, token).ConfigureAwait(false);
                continue;
            }

            session.HooksRunning = false;
            failures = 0;
            lock (_lock)
            {
                if (token.IsCancellationRequested)
                {
                    break;
                }

                Volatile.Write(ref _pool, new ChannelPool(session));
                _ready.TrySetResult(session);
            }

            _firstConnect?.TrySetResult();
            int generation = session.Generation;
            Raise(() => Connected?.Invoke(this, generation));

            var reason = await session.Completion.ConfigureAwait(false);
            lock (_lock)
            {
                Volatile.Write(ref _pool, null);
                if (token.IsCancellationRequested)
                {
                    break;
                }

                // Renters from now on wait for the next generation.
                _ready = NewGate();
            }

            var lost = reason ?? new AmqpConnectionLostException($"The connection to {endpoint} ended.");
            _lastError = lost;
            Raise(() => Disconnected?.Invoke(this, lost));
            await ReportAsync(lost).ConfigureAwait(false);
            if (IsPermanent(lost))
            {
                await ShutdownAsync(lost).ConfigureAwait(false);
                return;
            }

            // Try the next node first: the one that just failed may be the one that is down.
            endpointIndex++;
            await BackOffAsync(1, token).ConfigureAwait(false);
        }
    }

    private async Task RunHooksAsync(ConnectionSession session, CancellationToken cancellationToken)
    {
        // Channels rented inside the hooks come from this session even though the gate is closed.
        HookSession.Value = session;
        Func<AmqpConnection, CancellationToken, Task>[] hooks;
        lock (_lock)
        {
            hooks = [.. _hooks];
        }

        foreach (var hook in hooks)
        {
            await hook(this, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Failures that retrying cannot fix: bad credentials, a missing virtual host, a protocol mismatch.</summary>
    private static bool IsPermanent(Exception ex) => ex switch
    {
        AmqpAuthenticationException => true,
        AmqpTlsException => true,
        AmqpProtocolException p => p.ReplyCode == AmqpReplyCode.NotImplemented,
        AmqpConnectionException c => c.ReplyCode is AmqpReplyCode.NotAllowed or AmqpReplyCode.InvalidPath or AmqpReplyCode.AccessRefused,
        _ => false,
    };

    private async Task BackOffAsync(int failures, CancellationToken cancellationToken)
    {
        // Exponential with a cap, then "equal jitter": half fixed, half random, so clients don't reconnect in lockstep.
        double initial = Options.ReconnectInitialDelay.TotalMilliseconds;
        double capped = Math.Min(Options.ReconnectMaxDelay.TotalMilliseconds, initial * Math.Pow(2, Math.Min(failures - 1, 30)));
        var delay = TimeSpan.FromMilliseconds((capped / 2) + (Random.Shared.NextDouble() * capped / 2));
        try
        {
            await Task.Delay(delay, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
