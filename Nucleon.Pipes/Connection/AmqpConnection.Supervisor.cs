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
        var permanent = new PermanentFailurePolicy(Options.Endpoints.Count);
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
                if (permanent.GiveUp(ex) is { } definitive)
                {
                    await ShutdownAsync(definitive).ConfigureAwait(false);
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

            permanent.Reset();

            Interlocked.Increment(ref _generation);
            session.HookPhase = HookPhase.Running;
            Volatile.Write(ref _current, session);
            if (token.IsCancellationRequested)
            {
                // CloseAsync ran while we were connecting and saw no session to close.
                await session.CloseAsync(AmqpReplyCode.Success, "Goodbye", TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                break;
            }

            // The hooks' token lives as long as this generation: cancelled on its loss or on close.
            var generationCancellation = CancellationTokenSource.CreateLinkedTokenSource(token, session.Stopping);
            var hooks = RunHooksAsync(session, generationCancellation.Token);
            await Task.WhenAny(hooks, session.Completion).ConfigureAwait(false);
            if (!hooks.IsCompletedSuccessfully)
            {
                bool lostDuringHooks = !hooks.IsCompleted || !session.IsOpen;
                if (hooks.IsCompleted)
                {
                    session.HookPhase = HookPhase.Ended;
                    generationCancellation.Dispose();
                }
                else
                {
                    // The connection went while a hook still runs: never wait for it (it may be waiting
                    // for a connection itself). Its channel requests fail from now on; it ends on its own.
                    session.HookPhase = HookPhase.Abandoned;
                    _ = EndAbandonedHooksAsync(hooks, session, generationCancellation);
                }

                Exception failure;
                if (token.IsCancellationRequested)
                {
                    break;
                }

                if (lostDuringHooks)
                {
                    var cause = await session.Completion.ConfigureAwait(false);
                    failure = new AmqpConnectionLostException(
                        $"Connection generation {session.Generation} to {endpoint} was lost while its on-connect hooks ran; reconnecting: {cause?.Message ?? "closed"}", cause);
                }
                else
                {
                    var ex = hooks.Exception?.GetBaseException() ?? new OperationCanceledException("An on-connect hook was cancelled.");
                    failure = new AmqpException($"An on-connect hook failed on connection generation {session.Generation}; reconnecting: {ex.Message}", ex);
                    await session.CloseAsync(AmqpReplyCode.Success, "On-connect hook failed", TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                    if (token.IsCancellationRequested)
                    {
                        break;
                    }
                }

                _lastError = failure;
                await ReportAsync(failure).ConfigureAwait(false);
                endpointIndex += lostDuringHooks ? 1 : 0;
                failures++;
                await BackOffAsync(failures, token).ConfigureAwait(false);
                continue;
            }

            session.HookPhase = HookPhase.Ended;
            long upSince = Options.TimeProvider.GetTimestamp();
            lock (_lock)
            {
                if (token.IsCancellationRequested)
                {
                    generationCancellation.Dispose();
                    break;
                }

                Volatile.Write(ref _pool, new ChannelPool(session));
                _ready.TrySetResult(session);
            }

            _firstConnect?.TrySetResult();
            int generation = session.Generation;
            Raise(() => Connected?.Invoke(this, generation));

            var reason = await session.Completion.ConfigureAwait(false);
            generationCancellation.Dispose();
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

            // Try the next node first: the one that just failed may be the one that is down.
            endpointIndex++;
            if (Options.TimeProvider.GetElapsedTime(upSince) >= StableAfter)
            {
                failures = 0;
            }

            failures++;
            await BackOffAsync(failures, token).ConfigureAwait(false);
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

    private async Task EndAbandonedHooksAsync(Task hooks, ConnectionSession session, CancellationTokenSource generationCancellation)
    {
        try
        {
            await hooks.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or AmqpConnectionLostException))
        {
            await ReportAsync(new AmqpException(
                $"An on-connect hook of lost connection generation {session.Generation} failed after the supervisor had moved on: {ex.Message}", ex)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // What a hook whose connection is gone is expected to end with.
        }

        session.HookPhase = HookPhase.Ended;
        generationCancellation.Dispose();
    }

    /// <summary>
    /// How long a connection must stay up before the back-off starts again from
    /// <see cref="AmqpConnectionOptions.ReconnectInitialDelay"/>: a broker that accepts each connection and
    /// drops it at once must not get a reconnect every 50-100 ms.
    /// </summary>
    private TimeSpan StableAfter => Options.ReconnectMaxDelay;

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
