using Nucleon.Pipes.Channels;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// Where renters get the session of the current generation. The gate is open only while a session whose
/// on-connect hooks have run is current; renters who come while it is shut wait for the next generation;
/// once the <see cref="AmqpConnection"/> is closing it never opens again, and once closed for good every
/// waiter fails. Channel requests made from inside a hook never wait here: they are served by the hook's
/// own session, or fail at once when that session is gone (waiting would wait for the hook itself).
/// </summary>
internal sealed class SessionGate
{
    // The session whose hooks the current flow runs in (flows into the hooks and what they start).
    private static readonly AsyncLocal<ConnectionSession?> HookSession = new();

    private readonly object _lock = new();
    private TaskCompletionSource<ConnectionSession> _ready = NewGate();
    private ConnectionSession? _current;
    private ConnectionSession? _open; // the session the gate is open on; null while shut
    private ChannelPool? _pool; // the open session's pool, created by the first renter: an idle connection has none
    private bool _closing;

    /// <summary>The newest session (its hooks may still be running).</summary>
    public ConnectionSession? Current => Volatile.Read(ref _current);

    /// <summary>The rental pool of the open generation (created on first use); null while the gate is shut.</summary>
    public ChannelPool? Pool => Volatile.Read(ref _pool) ?? CreatePool();

    /// <summary>Marks the calling flow as the on-connect hooks of <paramref name="session"/>.</summary>
    public static void EnterHooks(ConnectionSession session) => HookSession.Value = session;

    /// <summary>A new generation exists (its hooks are about to run); the gate stays shut.</summary>
    public void SetCurrent(ConnectionSession session) => Volatile.Write(ref _current, session);

    /// <summary>The first call returns true and makes the gate refuse to open from then on; later calls return false.</summary>
    public bool TryBeginClosing()
    {
        lock (_lock)
        {
            if (_closing)
            {
                return false;
            }

            _closing = true;
            return true;
        }
    }

    /// <summary>Opens the gate on <paramref name="session"/> (its hooks have run); false when closing.</summary>
    public bool TryOpen(ConnectionSession session)
    {
        lock (_lock)
        {
            if (_closing)
            {
                return false;
            }

            _open = session;
            _ready.TrySetResult(session);
            return true;
        }
    }

    /// <summary>The open generation was lost: renters from now on wait for the next one. False when closing.</summary>
    public bool TryShut()
    {
        lock (_lock)
        {
            _open = null;
            Volatile.Write(ref _pool, null);
            if (_closing)
            {
                return false;
            }

            _ready = NewGate();
            return true;
        }
    }

    /// <summary>Closed for good: renters waiting, and all who come later, fail with <paramref name="none"/>.</summary>
    public void Fail(Exception none)
    {
        lock (_lock)
        {
            // Fail the gate they await (replacing it alone would leave them waiting for ever), or install a failed one.
            if (!_ready.TrySetException(none))
            {
                _ready = NewGate();
                _ready.TrySetException(none);
            }

            _ = _ready.Task.Exception;
        }
    }

    /// <summary>The session to open channels on: the hook's own while inside a hook, else the open generation's (waiting for one).</summary>
    public async ValueTask<ConnectionSession> WaitAsync(CancellationToken cancellationToken)
    {
        if (HookSession.Value is { } hookSession)
        {
            switch (hookSession.HookPhase)
            {
                case HookPhase.Running when hookSession.IsOpen:
                    return hookSession;
                case HookPhase.Running or HookPhase.Abandoned:
                    throw new AmqpConnectionLostException(
                        $"The connection (generation {hookSession.Generation}) that this on-connect hook runs on was lost; the hooks run again on the next connection.");
            }
        }

        while (true)
        {
            var gate = Volatile.Read(ref _ready);
            var session = gate.Task.IsCompletedSuccessfully
                ? gate.Task.Result
                : await gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (session.IsOpen)
            {
                return session;
            }

            // That connection just died and the supervisor has not shut the gate yet.
            await Task.Yield();
            if (ReferenceEquals(gate, Volatile.Read(ref _ready)))
            {
                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // Under the lock, so a pool is only ever made for the session the gate is open on, and never after TryShut.
    private ChannelPool? CreatePool()
    {
        lock (_lock)
        {
            if (_pool is null && _open is { } session)
            {
                Volatile.Write(ref _pool, new ChannelPool(session));
            }

            return _pool;
        }
    }

    private static TaskCompletionSource<ConnectionSession> NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
