namespace Nucleon.Pipes.Connection;

/// <summary>
/// Runs the on-connect hooks of one connection generation, in order. Their token belongs to the generation:
/// cancelled when it is lost or the <see cref="AmqpConnection"/> closes. The supervisor never waits for a hook
/// whose connection is gone: such hooks are abandoned (their channel requests fail at once, see
/// <see cref="SessionGate"/>) and end on their own; a late failure of theirs is reported.
/// </summary>
internal sealed class GenerationHooks(AmqpConnection owner, ConnectionSession session, CancellationToken closing) : IDisposable
{
    // The hooks' token, linked to both ends; only made when there are hooks (it lives as long as the generation).
    private CancellationTokenSource? _cancellation;
    private bool _abandoned;

    /// <summary>
    /// Runs <paramref name="hooks"/>; returns null when all of them ran, else why they did not:
    /// <see cref="AmqpConnectionLostException"/> when the connection went meanwhile, or the hook's failure.
    /// </summary>
    public async Task<Exception?> RunAsync(IReadOnlyList<Func<AmqpConnection, CancellationToken, Task>> hooks)
    {
        if (hooks.Count > 0)
        {
            _cancellation = CancellationTokenSource.CreateLinkedTokenSource(closing, session.Stopping);
        }

        session.HookPhase = HookPhase.Running;
        var running = RunInOrderAsync(hooks);
        await Task.WhenAny(running, session.Completion).ConfigureAwait(false);
        if (running.IsCompletedSuccessfully)
        {
            session.HookPhase = HookPhase.Ended;
            return null;
        }

        bool lost = !running.IsCompleted || !session.IsOpen;
        if (running.IsCompleted)
        {
            session.HookPhase = HookPhase.Ended;
        }
        else
        {
            session.HookPhase = HookPhase.Abandoned;
            _abandoned = true;
            _ = EndAbandonedAsync(running);
        }

        if (lost)
        {
            var cause = await session.Completion.ConfigureAwait(false);
            return new AmqpConnectionLostException(
                $"Connection generation {session.Generation} to {session.Endpoint} was lost while its on-connect hooks ran; reconnecting: {cause?.Message ?? "closed"}", cause);
        }

        var ex = running.Exception?.GetBaseException() ?? new OperationCanceledException("An on-connect hook was cancelled.");
        return new AmqpException($"An on-connect hook failed on connection generation {session.Generation}; reconnecting: {ex.Message}", ex);
    }

    /// <summary>The generation is over; an abandoned hook's token is disposed when that hook ends.</summary>
    public void Dispose()
    {
        if (!_abandoned)
        {
            _cancellation?.Dispose();
        }
    }

    private async Task RunInOrderAsync(IReadOnlyList<Func<AmqpConnection, CancellationToken, Task>> hooks)
    {
        // Channels rented inside the hooks come from this session even though the gate is shut.
        SessionGate.EnterHooks(session);
        foreach (var hook in hooks)
        {
            await hook(owner, _cancellation!.Token).ConfigureAwait(false);
        }
    }

    private async Task EndAbandonedAsync(Task running)
    {
        try
        {
            await running.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or AmqpConnectionLostException))
        {
            Diagnostics.Logging.ConnectionLog.HookFailed(owner.Loggers.Connection, ex, session.Generation, session.Endpoint, ex.Message);
            await owner.ReportAsync(new AmqpException(
                $"An on-connect hook of lost connection generation {session.Generation} failed after the supervisor had moved on: {ex.Message}", ex)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // What a hook whose connection is gone is expected to end with.
        }

        session.HookPhase = HookPhase.Ended;
        _cancellation?.Dispose();
    }
}
