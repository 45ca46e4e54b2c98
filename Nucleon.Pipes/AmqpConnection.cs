using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Connection;
using Nucleon.Pipes.Diagnostics.Metrics;
using Nucleon.Pipes.Diagnostics.Logging;

namespace Nucleon.Pipes;

/// <summary>
/// A connection to a RabbitMQ broker (or cluster) that reconnects by itself. Register on-connect
/// hooks (declare topology, start consumers) with <see cref="OnConnect"/>: they run, in order, on
/// every new connection before any channel is handed out from it. Channels are rented
/// (<see cref="RentChannelAsync"/>, pooled) or allocated (<see cref="AllocateChannelAsync"/>, owned by the caller).
/// </summary>
public sealed class AmqpConnection : IAsyncDisposable
{
    private readonly List<Func<AmqpConnection, CancellationToken, Task>> _hooks = [];
    private readonly List<Func<AmqpConnection, Exception, ValueTask>> _errorHandlers = [];
    private readonly SerialEventQueue _events = new();
    private readonly object _lock = new();
    private readonly ConnectionSupervisor _supervisor;

    /// <summary>Creates a connection from an AMQP URI, e.g. <c>amqp://guest:guest@localhost:5672/%2f?heartbeat=30</c>. Nothing is sent until <see cref="ConnectAsync"/>.</summary>
    /// <exception cref="UriFormatException">The URI is malformed (the message never contains the password).</exception>
    public AmqpConnection(string uri) : this(AmqpConnectionOptions.Parse(uri)) { }

    /// <summary>Creates a connection from options. Nothing is sent until <see cref="ConnectAsync"/>.</summary>
    public AmqpConnection(AmqpConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Loggers = new AmqpLoggers(options.LoggerFactory);
        _supervisor = new ConnectionSupervisor(this);
        Metrics = new ConnectionMetrics(this);
    }

    /// <summary>The options this connection was created with.</summary>
    public AmqpConnectionOptions Options { get; }

    /// <summary>Completes when the connection has been closed for good: by <see cref="CloseAsync"/> or by a permanent failure (faulted with its cause).</summary>
    public Task Completion => _supervisor.Completion;

    /// <summary>True while a connection to the broker is up and its hooks have run.</summary>
    public bool IsConnected => _supervisor.Gate.Current is { IsOpen: true } s && !s.HooksRunning;

    /// <summary>True while the broker blocks publishing on this connection (resource alarm).</summary>
    public bool IsBlocked => _supervisor.Gate.Current is { IsBlocked: true };

    /// <summary>How many connections have been established so far (1 after the first connect; +1 per reconnect).</summary>
    public int Generation => _supervisor.Generation;

    /// <summary>
    /// The last failure the connection saw: a failed connection attempt or a lost connection (null before the first).
    /// For health checks and diagnostics while it is connecting or reconnecting; the events and the log say when each happened.
    /// </summary>
    public Exception? LastError => _supervisor.LastError;

    /// <summary>The broker's server-properties of the current connection (product, version, capabilities); read-only.</summary>
    public IDictionary<string, object?> ServerProperties => _supervisor.Gate.Current?.ServerProperties ?? SharedServerProperties.Empty;

    /// <summary>The broker node currently connected to.</summary>
    public AmqpEndpoint? CurrentEndpoint => _supervisor.Gate.Current?.Endpoint;

    /// <summary>The heartbeat, frame_max and channel_max negotiated for the current connection; null before the first connect.</summary>
    public AmqpTuning? Tuning => _supervisor.Gate.Current is { } session ? new AmqpTuning(session.Heartbeat, session.FrameMax, session.ChannelMax) : null;

    /// <summary>
    /// Raised once when an established connection is lost (an outage begins): with the endpoint, the lost generation
    /// and the cause. The attempts to reconnect go to the log (<see cref="AmqpConnectionOptions.LoggerFactory"/>),
    /// not to events; <see cref="Reconnected"/> follows once a new connection is up.
    /// The connection's events (<see cref="ConnectionLost"/>, <see cref="Reconnected"/>, <see cref="Blocked"/>,
    /// <see cref="Unblocked"/>) are raised on the thread pool, one at a time, in the order they happened; a handler that
    /// blocks delays the events after it (never the connection), and exceptions from handlers are ignored.
    /// Not raised when the application closes the connection.
    /// </summary>
    public event EventHandler<AmqpConnectionLostEventArgs>? ConnectionLost;

    /// <summary>
    /// Raised once when the outage that <see cref="ConnectionLost"/> announced ends: a new connection is up and its
    /// on-connect hooks have run. Carries the new generation and how long the outage lasted.
    /// Not raised for the first connection (<see cref="ConnectAsync"/> returns then).
    /// </summary>
    public event EventHandler<AmqpReconnectedEventArgs>? Reconnected;

    /// <summary>Raised when the broker blocks publishing on the connection (resource alarm), with its reason; see <see cref="ConnectionLost"/> for the order of events.</summary>
    public event EventHandler<AmqpBlockedEventArgs>? Blocked;

    /// <summary>Raised once after each <see cref="Blocked"/>: when the broker unblocks the connection, or when the blocked connection ends.</summary>
    public event EventHandler<AmqpUnblockedEventArgs>? Unblocked;

    /// <summary>
    /// Registers an on-connect hook. Hooks run in registration order, awaited, on the first connection
    /// and on every reconnection, before any channel is handed out from it. A hook that throws is
    /// reported to <see cref="OnError"/>, and that connection is dropped and tried again, so hooks
    /// should be idempotent (declare, bind, consume). Register hooks before <see cref="ConnectAsync"/>.
    /// </summary>
    /// <remarks>
    /// The hook's <see cref="CancellationToken"/> belongs to the connection it runs on: it is cancelled
    /// when that connection is lost (or the <see cref="AmqpConnection"/> is closed). Once that connection
    /// is lost, channel requests made from the hook throw <see cref="AmqpConnectionLostException"/> at
    /// once; the loss is logged as a failed attempt and the supervisor no longer waits for the
    /// hook: it reconnects and runs all hooks again on the next connection. So a hook should give up
    /// when its token is cancelled, not retry.
    /// </remarks>
    public void OnConnect(Func<AmqpConnection, CancellationToken, Task> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        lock (_lock)
        {
            _hooks.Add(hook);
        }
    }

    /// <summary>
    /// Registers an error handler: it hears about failures of application code the connection survives (on-connect
    /// hooks that threw, callbacks such as message handlers and OnReturn handlers, as <see cref="AmqpCallbackException"/>)
    /// and about the failure that ends the connection for good. A lost connection is <see cref="ConnectionLost"/>, and
    /// each failed reconnect attempt is logged (<see cref="AmqpConnectionOptions.LoggerFactory"/>), not reported here.
    /// Handlers must not throw; exceptions from them are ignored.
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
    /// A definitive refusal (403 ACCESS_REFUSED during the handshake, no common SASL mechanism, a refused
    /// TLS certificate) throws once every endpoint has been tried; everything else (timeouts, I/O errors,
    /// 530, a broken TLS handshake) is retried. See "Reconnect policy" in the README.
    /// After a successful connect, the connection reconnects by itself whenever it is lost.
    /// Cancelled by <paramref name="cancellationToken"/>, it throws an <see cref="OperationCanceledException"/> whose
    /// message and inner exception give the last attempt's error, and the connection is closed for good.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        var first = _supervisor.Start();
        Metrics.Start();
        try
        {
            await first.WaitAsync(Options.InitialConnectTimeout, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            var last = _supervisor.LastError;
            var failure = new AmqpConnectionLostException($"Could not connect to {Options} within {Options.InitialConnectTimeout.TotalSeconds:0.#} s; last error: {last?.Message ?? "none"}", last ?? ex);
            await _supervisor.ShutdownAsync(failure).ConfigureAwait(false);
            throw failure;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Say why it had not connected yet: "cancelled" alone leaves the caller guessing (wrong port? refused?).
            var last = _supervisor.LastError;
            var cancelled = new OperationCanceledException(
                last is null
                    ? $"ConnectAsync was cancelled before the first attempt to {Options} ended."
                    : $"ConnectAsync was cancelled before a connection came up; the last attempt failed: {last.Message}",
                last,
                cancellationToken);
            await _supervisor.ShutdownAsync(cancelled).ConfigureAwait(false);
            throw cancelled;
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
            var pool = session.HooksRunning ? null : _supervisor.Gate.Pool;
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
    public Task CloseAsync(CancellationToken cancellationToken = default) => _supervisor.CloseAsync(cancellationToken);

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

    /// <summary>
    /// Gives the broker a new secret for the current connection (connection.update-secret), e.g. a refreshed
    /// OAuth 2 token before the old one expires, and waits for its answer. Only this connection is updated: a
    /// reconnect authenticates with <see cref="AmqpConnectionOptions.Password"/> or, better, a
    /// <see cref="AmqpConnectionOptions.CredentialsProvider"/> that returns the newest token.
    /// </summary>
    /// <param name="newSecret">The new secret (token); never logged or shown.</param>
    /// <param name="reason">Why, for the broker's log.</param>
    /// <param name="cancellationToken">Ends the wait (the update may still take effect).</param>
    /// <exception cref="AmqpConnectionLostException">The connection ended before the broker answered.</exception>
    public async Task UpdateSecretAsync(string newSecret, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(newSecret);
        ArgumentNullException.ThrowIfNull(reason);
        var session = await GetSessionAsync(cancellationToken).ConfigureAwait(false);
        await session.UpdateSecretAsync(newSecret, reason, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override string ToString() => $"AmqpConnection {Options}";

    // ------------------------------------------------------------------ internals

    /// <summary>The loggers of this connection, one per category.</summary>
    internal AmqpLoggers Loggers { get; }

    internal bool IsCurrentSession(ConnectionSession session) => ReferenceEquals(_supervisor.Gate.Current, session);

    /// <summary>The current connection's session (for tests and the connection-level consumer).</summary>
    internal ConnectionSession? CurrentSession => _supervisor.Gate.Current;

    internal ValueTask<ConnectionSession> GetSessionAsync(CancellationToken cancellationToken) =>
        _supervisor.Started
            ? _supervisor.Gate.WaitAsync(cancellationToken)
            : throw new InvalidOperationException("Call ConnectAsync before using the connection.");

    /// <summary>The on-connect hooks, in registration order (a snapshot).</summary>
    internal IReadOnlyList<Func<AmqpConnection, CancellationToken, Task>> Hooks
    {
        get
        {
            lock (_lock)
            {
                return [.. _hooks];
            }
        }
    }

    internal void RaiseBlocked(AmqpBlockedEventArgs e) => Raise(() => Blocked?.Invoke(this, e));

    internal void RaiseUnblocked(AmqpUnblockedEventArgs e) => Raise(() => Unblocked?.Invoke(this, e));

    internal void RaiseConnectionLost(AmqpConnectionLostEventArgs e) => Raise(() => ConnectionLost?.Invoke(this, e));

    internal void RaiseReconnected(AmqpReconnectedEventArgs e) => Raise(() => Reconnected?.Invoke(this, e));

    private void Raise(Action raise) => _events.Post(raise);

    /// <summary>Closed for good: events already raised are still delivered, none after.</summary>
    internal void OnClosedForGood()
    {
        _events.Complete();
        Metrics.Stop();
    }

    /// <summary>This connection's share of the <c>Nucleon.Pipes</c> meter.</summary>
    internal ConnectionMetrics Metrics { get; }

    /// <summary>An application callback threw: the error goes to the <see cref="OnError"/> handlers, never up the stack.</summary>
    internal void ReportCallbackFailure(string callback, Exception error)
    {
        ConnectionLog.CallbackFailed(Loggers.Connection, error, callback);
        _ = ReportAsync(new AmqpCallbackException(callback, error));
    }

    /// <summary>Tells every <see cref="OnError"/> handler, in order; their exceptions are ignored.</summary>
    internal async Task ReportAsync(Exception error)
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
