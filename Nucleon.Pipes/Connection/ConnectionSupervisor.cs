namespace Nucleon.Pipes.Connection;

/// <summary>
/// One task per <see cref="AmqpConnection"/> that drives its generations: connect (over the endpoints in
/// turn), run the on-connect hooks, open the <see cref="SessionGate"/> for renters, wait for the connection
/// to end, back off, and start over — until closed, or until <see cref="PermanentFailurePolicy"/> says a
/// definitive answer ends it. Exactly one generation is current at a time, and only this task changes it.
/// What it tells the application and the log goes through <see cref="ConnectionSignals"/>.
/// </summary>
internal sealed class ConnectionSupervisor(AmqpConnection owner)
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly AmqpConnectionOptions _options = owner.Options;
    private readonly ConnectionSignals _signals = new(owner);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _lock = new();
    private Task? _loop;
    private TaskCompletionSource? _firstConnect;
    private Exception? _lastError;
    private int _generation;

    public SessionGate Gate { get; } = new();

    /// <summary>Completes when closed for good (faulted with the cause of a permanent failure).</summary>
    public Task Completion => _completion.Task;

    public int Generation => Volatile.Read(ref _generation);

    /// <summary>The last failure seen (a failed attempt or a lost connection), for the initial-connect timeout's message.</summary>
    public Exception? LastError => Volatile.Read(ref _lastError);

    /// <summary>True once <see cref="Start"/> has run.</summary>
    public bool Started => Volatile.Read(ref _firstConnect) is not null;

    /// <summary>Starts the loop (once); the result completes when the first generation is up and its hooks have run.</summary>
    public Task Start()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_completion.Task.IsCompleted, owner);
            if (_firstConnect is null)
            {
                Volatile.Write(ref _firstConnect, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                _loop = Task.Run(RunAsync, CancellationToken.None);
            }

            return _firstConnect.Task;
        }
    }

    /// <summary>Closes for good (the current connection cleanly) and waits for the loop to end.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        await ShutdownAsync(null).ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops reconnecting, closes the current connection and completes <see cref="Completion"/> (faulted with <paramref name="failure"/>, unless null or a cancellation).</summary>
    public async Task ShutdownAsync(Exception? failure)
    {
        if (!Gate.TryBeginClosing())
        {
            return;
        }

        _closing.Cancel();
        if (Gate.Current is { } session)
        {
            await session.CloseAsync(AmqpReplyCode.Success, "Goodbye", CloseTimeout).ConfigureAwait(false);
        }

        await _signals.EndedAsync(failure, Generation).ConfigureAwait(false);
        Finish(failure);
    }

    private async Task RunAsync()
    {
        var token = _closing.Token;
        var backOff = new ReconnectBackOff(_options);
        var permanent = new PermanentFailurePolicy(_options.Endpoints.Count);
        int endpointIndex = 0;
        int failedInARow = 0; // without automatic reconnection: each endpoint once, then give up
        while (!token.IsCancellationRequested)
        {
            var endpoint = _options.Endpoints[endpointIndex % _options.Endpoints.Count];
            ConnectionSession session;
            try
            {
                _signals.Attempting(endpoint, Generation + 1);
                var attemptOptions = await WithFreshCredentialsAsync(token).ConfigureAwait(false);
                session = await ConnectionSession.OpenAsync(owner, attemptOptions, endpoint, Generation + 1, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                Volatile.Write(ref _lastError, ex);
                _signals.AttemptFailed(endpoint, ex);
                if (permanent.GiveUp(ex) is { } definitive)
                {
                    await ShutdownAsync(definitive).ConfigureAwait(false);
                    return;
                }

                if (!_options.AutomaticReconnect && ++failedInARow >= _options.Endpoints.Count)
                {
                    await ShutdownAsync(ex).ConfigureAwait(false);
                    return;
                }

                endpointIndex++;
                await BackOffAsync(backOff, backOff.AfterFailedAttempt(), token).ConfigureAwait(false);
                continue;
            }
            catch (Exception)
            {
                break;
            }

            permanent.Reset();
            Interlocked.Increment(ref _generation);
            Gate.SetCurrent(session);
            _signals.SessionOpened(session);
            if (token.IsCancellationRequested)
            {
                // ShutdownAsync ran while we were connecting and saw no session to close.
                await session.CloseAsync(AmqpReplyCode.Success, "Goodbye", CloseTimeout).ConfigureAwait(false);
                break;
            }

            using var hooks = new GenerationHooks(owner, session, token);
            var hooksFailed = await hooks.RunAsync(owner.Hooks).ConfigureAwait(false);
            if (hooksFailed is not null)
            {
                if (token.IsCancellationRequested)
                {
                    break;
                }

                bool lost = hooksFailed is AmqpConnectionLostException;
                if (!lost)
                {
                    await session.CloseAsync(AmqpReplyCode.Success, "On-connect hook failed", CloseTimeout).ConfigureAwait(false);
                    if (token.IsCancellationRequested)
                    {
                        break;
                    }
                }

                Volatile.Write(ref _lastError, hooksFailed);
                if (lost)
                {
                    _signals.AttemptFailed(session.Endpoint, hooksFailed);
                }
                else
                {
                    await _signals.HookFailedAsync(session, hooksFailed).ConfigureAwait(false);
                }

                if (!_options.AutomaticReconnect)
                {
                    await ShutdownAsync(hooksFailed).ConfigureAwait(false);
                    return;
                }

                endpointIndex += lost ? 1 : 0;
                await BackOffAsync(backOff, backOff.AfterFailedAttempt(), token).ConfigureAwait(false);
                continue;
            }

            backOff.ConnectionUp();
            if (!Gate.TryOpen(session))
            {
                break;
            }

            _signals.HandedOut(session);
            _firstConnect?.TrySetResult();

            var reason = await session.Completion.ConfigureAwait(false);
            if (!Gate.TryShut())
            {
                break;
            }

            var lostConnection = reason ?? new AmqpConnectionLostException($"The connection to {endpoint} ended.");
            Volatile.Write(ref _lastError, lostConnection);
            _signals.Lost(session, lostConnection, _options.AutomaticReconnect);
            if (!_options.AutomaticReconnect)
            {
                await ShutdownAsync(lostConnection).ConfigureAwait(false);
                return;
            }

            // Try the next node first: the one that just failed may be the one that is down.
            endpointIndex++;
            await BackOffAsync(backOff, backOff.AfterLoss(), token).ConfigureAwait(false);
        }
    }

    private Task BackOffAsync(ReconnectBackOff backOff, TimeSpan delay, CancellationToken token)
    {
        _signals.BackingOff(delay);
        return backOff.WaitAsync(delay, token);
    }

    // The options for one attempt: with the credentials provider's current answer, when there is one.
    private async ValueTask<AmqpConnectionOptions> WithFreshCredentialsAsync(CancellationToken token)
    {
        if (_options.CredentialsProvider is not { } provider)
        {
            return _options;
        }

        using var bound = CancellationTokenSource.CreateLinkedTokenSource(token);
        bound.CancelAfter(_options.ConnectionTimeout);
        Task<AmqpCredentials>? asked = null;
        AmqpCredentials credentials;
        try
        {
            // Not awaited directly: a provider deaf to its token must not hold up the attempt, or CloseAsync.
            asked = provider(bound.Token).AsTask();
            credentials = await asked.WaitAsync(bound.Token).ConfigureAwait(false);
            if (credentials?.UserName is null || credentials.Password is null)
            {
                throw new InvalidOperationException("it returned no credentials, or credentials without a user name or password");
            }
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested && bound.IsCancellationRequested)
        {
            Abandon(asked);
            throw new TimeoutException($"The credentials provider did not answer within {_options.ConnectionTimeout.TotalSeconds:0.#} s (ConnectionTimeout).");
        }
        catch (Exception ex) when (!token.IsCancellationRequested)
        {
            // Not an answer from the broker: a failed attempt like any other, retried with back-off.
            throw new AmqpConnectionLostException($"The credentials provider failed: {ex.Message}", ex);
        }
        catch (OperationCanceledException)
        {
            Abandon(asked);
            throw;
        }

        return _options with { UserName = credentials.UserName, Password = credentials.Password };
    }

    // A provider call given up on may still fail later: observe it, so it is not reported as unobserved.
    private static void Abandon(Task? asked) =>
        asked?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private void Finish(Exception? failure)
    {
        var closed = failure ?? new AmqpChannelClosedException("The connection was closed by the application.");
        Gate.Fail(closed is AmqpException ? closed : new AmqpConnectionLostException(closed.Message, closed));
        owner.OnClosedForGood();
        _firstConnect?.TrySetException(closed);
        _ = _firstConnect?.Task.Exception;
        if (failure is null || failure is OperationCanceledException)
        {
            _completion.TrySetResult();
        }
        else
        {
            // Observed here: an application that never looks at Completion must not see it as unobserved.
            _completion.TrySetException(failure);
            _ = _completion.Task.Exception;
        }
    }
}
