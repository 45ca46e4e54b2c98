using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes;

/// <summary>
/// A connection to a RabbitMQ broker (or cluster) that reconnects by itself. Register on-connect
/// hooks (declare topology, start consumers) with <see cref="OnConnect"/>: they run, in order, on
/// every new connection before any channel is handed out from it. Channels are rented
/// (<see cref="RentChannelAsync"/>, pooled) or allocated (<see cref="AllocateChannelAsync"/>, owned by the caller).
/// </summary>
public sealed partial class AmqpConnection : IAsyncDisposable
{
    private static readonly AsyncLocal<ConnectionSession?> HookSession = new();

    private readonly List<Func<AmqpConnection, CancellationToken, Task>> _hooks = [];
    private readonly List<Func<AmqpConnection, Exception, ValueTask>> _errorHandlers = [];
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _closing = new();
    private readonly object _lock = new();
    private TaskCompletionSource<ConnectionSession> _ready = NewGate();
    private ConnectionSession? _current;
    private ChannelPool? _pool;
    private Task? _supervisor;
    private TaskCompletionSource? _firstConnect;
    private int _generation;

    /// <summary>Creates a connection from an AMQP URI, e.g. <c>amqp://guest:guest@localhost:5672/%2f?heartbeat=30</c>. Nothing is sent until <see cref="ConnectAsync"/>.</summary>
    /// <exception cref="UriFormatException">The URI is malformed (the message never contains the password).</exception>
    public AmqpConnection(string uri) : this(AmqpConnectionOptions.Parse(uri)) { }

    /// <summary>Creates a connection from options. Nothing is sent until <see cref="ConnectAsync"/>.</summary>
    public AmqpConnection(AmqpConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    /// <summary>The options this connection was created with.</summary>
    public AmqpConnectionOptions Options { get; }

    /// <summary>Completes when the connection has been closed for good: by <see cref="CloseAsync"/> or by a permanent failure (faulted with its cause).</summary>
    public Task Completion => _completion.Task;

    /// <summary>True while a connection to the broker is up and its hooks have run.</summary>
    public bool IsConnected => _current is { IsOpen: true } s && !s.HooksRunning;

    /// <summary>True while the broker blocks publishing on this connection (resource alarm).</summary>
    public bool IsBlocked => _current is { IsBlocked: true };

    /// <summary>How many connections have been established so far (1 after the first connect; +1 per reconnect).</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>The broker's server-properties of the current connection (product, version, capabilities).</summary>
    public IDictionary<string, object?> ServerProperties => _current?.ServerProperties ?? new Dictionary<string, object?>();

    /// <summary>The broker node currently connected to.</summary>
    public AmqpEndpoint? CurrentEndpoint => _current?.Endpoint;

    /// <summary>Raised (on the thread pool) when the broker blocks the connection; the argument is the broker's reason.</summary>
    public event EventHandler<string>? Blocked;

    /// <summary>Raised (on the thread pool) when the broker unblocks the connection.</summary>
    public event EventHandler? Unblocked;

    /// <summary>Raised (on the thread pool) when an established connection is lost; the argument is why.</summary>
    public event EventHandler<Exception>? Disconnected;

    /// <summary>Raised (on the thread pool) after a new connection is up and its hooks have run; the argument is its generation.</summary>
    public event EventHandler<int>? Connected;

    /// <summary>
    /// Registers an on-connect hook. Hooks run in registration order, awaited, on the first connection
    /// and on every reconnection, before any channel is handed out from it. A hook that throws is
    /// reported to <see cref="OnError"/>, and that connection is dropped and tried again, so hooks
    /// should be idempotent (declare, bind, consume). Register hooks before <see cref="ConnectAsync"/>.
    /// </summary>
    public void OnConnect(Func<AmqpConnection, CancellationToken, Task> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        lock (_lock)
        {
            _hooks.Add(hook);
        }
    }

    /// <summary>
    /// Registers an error handler: it hears about everything the connection survives (lost
    /// connections, failed reconnect attempts, hooks that threw, server-initiated closes) and about the
    /// failure that ends it. Handlers must not throw; exceptions from them are ignored.
    /// </summary>
    public void OnError(Func<AmqpConnection, Exception, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_lock)
        {
            _errorHandlers.Add(handler);
        }
    }

    /// <summary>
    /// Connects and runs the on-connect hooks. Returns once both are done. While the broker is
    /// unreachable it keeps trying (with back-off, over every endpoint) until
    /// <paramref name="cancellationToken"/> or <see cref="AmqpConnectionOptions.InitialConnectTimeout"/> ends it.
    /// Permanent failures (authentication refused, unknown virtual host) throw at once.
    /// After a successful connect, the connection reconnects by itself whenever it is lost.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        TaskCompletionSource first;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_completion.Task.IsCompleted, this);
            if (_firstConnect is null)
            {
                _firstConnect = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _supervisor = Task.Run(SuperviseAsync, CancellationToken.None);
            }

            first = _firstConnect;
        }

        try
        {
            await first.Task.WaitAsync(Options.InitialConnectTimeout, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            var failure = new AmqpConnectionLostException($"Could not connect to {Options} within {Options.InitialConnectTimeout.TotalSeconds:0.#} s; last error: {_lastError?.Message ?? "none"}", _lastError ?? ex);
            await ShutdownAsync(failure).ConfigureAwait(false);
            throw failure;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await ShutdownAsync(new OperationCanceledException("ConnectAsync was cancelled.", cancellationToken)).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Rents a pooled channel; dispose it (<c>await using</c>) to give it back. A channel returned healthy
    /// is reused without a new channel.open. Waits (bounded by the token) while the connection is
    /// reconnecting. Plain and confirm-mode channels come from separate pools.
    /// </summary>
    public async Task<MessageChannel> RentChannelAsync(ChannelOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= ChannelOptions.Default;
        while (true)
        {
            var session = await GetSessionAsync(cancellationToken).ConfigureAwait(false);
            var pool = session.HooksRunning ? null : Volatile.Read(ref _pool);
            try
            {
                if (pool is null)
                {
                    // Inside the hooks: a plain channel of the new connection, closed on dispose.
                    var core = session.CreateChannel(options);
                    await OpenOrDiscardAsync(core, cancellationToken).ConfigureAwait(false);
                    return new MessageChannel(core, null);
                }

                return new MessageChannel(await pool.RentAsync(options, cancellationToken).ConfigureAwait(false), pool);
            }
            catch (AmqpConnectionLostException) when (!session.IsOpen && !cancellationToken.IsCancellationRequested && !session.HooksRunning)
            {
                // The connection went while opening the channel: wait for the next one.
            }
        }
    }

    /// <summary>
    /// Opens a channel owned by the caller (close or dispose it when done). Suited to long-lived
    /// consumers and publishers shared between tasks. The channel belongs to the current connection
    /// and fails with <see cref="AmqpConnectionLostException"/> when that connection is lost.
    /// </summary>
    public async Task<MessageChannel> AllocateChannelAsync(ChannelOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= ChannelOptions.Default;
        while (true)
        {
            var session = await GetSessionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var core = session.CreateChannel(options);
                await OpenOrDiscardAsync(core, cancellationToken).ConfigureAwait(false);
                return new MessageChannel(core, null);
            }
            catch (AmqpConnectionLostException) when (!session.IsOpen && !cancellationToken.IsCancellationRequested && !session.HooksRunning)
            {
            }
        }
    }

    /// <summary>
    /// Consumes a queue across reconnects: the returned stream keeps yielding messages through lost
    /// connections, broker restarts and node failover, subscribing again (on a new channel, after
    /// the new connection's on-connect hooks) each time, so the consume loop never has to notice a
    /// reconnect. Messages received before a loss cannot be acknowledged afterwards (acking throws
    /// <see cref="AmqpConnectionLostException"/>); the broker redelivers them. The stream ends when the
    /// connection is closed, when <paramref name="cancellationToken"/> is cancelled, or with the error
    /// when subscribing fails for a reason retrying cannot fix (e.g. 404: the queue does not exist).
    /// </summary>
    public IAsyncEnumerable<Message> ConsumeAsync(string queue, ConsumeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(queue, nameof(queue));
        ArgumentChecks.ConsumeOptions(options, nameof(options));
        return new Consumers.ResilientConsumerStream(this, queue, options ?? ConsumeOptions.Default, cancellationToken);
    }

    private static async Task OpenOrDiscardAsync(ChannelCore core, CancellationToken cancellationToken)
    {
        try
        {
            await core.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            core.Discard();
            throw;
        }
    }

    /// <summary>Closes the connection for good (connection.close, bounded wait for close-ok) and stops reconnecting.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        await ShutdownAsync(null).ConfigureAwait(false);
        if (_supervisor is { } supervisor)
        {
            await supervisor.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Same as <see cref="CloseAsync"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await CloseAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmqpException or OperationCanceledException)
        {
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"AmqpConnection {Options}";

    // ------------------------------------------------------------------ internals

    internal bool IsCurrentSession(ConnectionSession session) => ReferenceEquals(Volatile.Read(ref _current), session);

    /// <summary>The current connection's session (for tests and the connection-level consumer).</summary>
    internal ConnectionSession? CurrentSession => Volatile.Read(ref _current);

    internal async ValueTask<ConnectionSession> GetSessionAsync(CancellationToken cancellationToken)
    {
        if (HookSession.Value is { HooksRunning: true, IsOpen: true } hookSession)
        {
            return hookSession;
        }

        while (true)
        {
            var gate = Volatile.Read(ref _ready);
            if (_firstConnect is null)
            {
                throw new InvalidOperationException("Call ConnectAsync before using the connection.");
            }

            var session = gate.Task.IsCompletedSuccessfully
                ? gate.Task.Result
                : await gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (session.IsOpen)
            {
                return session;
            }

            // That connection just died and the supervisor has not swapped the gate yet.
            await Task.Yield();
            if (ReferenceEquals(gate, Volatile.Read(ref _ready)))
            {
                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    internal void RaiseBlocked(string reason) => Raise(() => Blocked?.Invoke(this, reason));

    internal void RaiseUnblocked() => Raise(() => Unblocked?.Invoke(this, EventArgs.Empty));

    private static void Raise(Action raise) =>
        ThreadPool.UnsafeQueueUserWorkItem(static a =>
        {
            try
            {
                a();
            }
            catch (Exception)
            {
                // An application handler's exception must not take the connection down.
            }
        }, raise, preferLocal: false);

    private static TaskCompletionSource<ConnectionSession> NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Exception? _lastError;

    private async Task ShutdownAsync(Exception? failure)
    {
        lock (_lock)
        {
            if (_closing.IsCancellationRequested)
            {
                return;
            }

            _closing.Cancel();
        }

        var session = Volatile.Read(ref _current);
        if (session is not null)
        {
            await session.CloseAsync(AmqpReplyCode.Success, "Goodbye", TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }

        Finish(failure);
    }

    private void Finish(Exception? failure)
    {
        var closed = failure ?? new AmqpChannelClosedException("The connection was closed by the application.");
        lock (_lock)
        {
            // Renters waiting for a connection learn that none will come: fail the gate they await
            // (replacing it alone would leave them waiting forever), or install a failed one.
            var none = closed is AmqpException ? closed : new AmqpConnectionLostException(closed.Message, closed);
            if (!_ready.TrySetException(none))
            {
                _ready = NewGate();
                _ready.TrySetException(none);
            }

            _ = _ready.Task.Exception;
        }

        _firstConnect?.TrySetException(closed);
        _ = _firstConnect?.Task.Exception;
        if (failure is null || failure is OperationCanceledException)
        {
            _completion.TrySetResult();
        }
        else
        {
            _completion.TrySetException(failure);
        }
    }

    /// <summary>An application callback threw: the error goes to the <see cref="OnError"/> handlers, never up the stack.</summary>
    internal void ReportCallbackFailure(string callback, Exception error) =>
        _ = ReportAsync(new AmqpCallbackException(callback, error));

    private async Task ReportAsync(Exception error)
    {
        Func<AmqpConnection, Exception, ValueTask>[] handlers;
        lock (_lock)
        {
            handlers = [.. _errorHandlers];
        }

        foreach (var handler in handlers)
        {
            try
            {
                await handler(this, error).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Error handlers must not break the supervisor.
            }
        }
    }
}
