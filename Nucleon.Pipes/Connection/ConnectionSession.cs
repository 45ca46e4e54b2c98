using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Diagnostics.Logging;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Transport;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// One physical AMQP connection (one "generation" of an <see cref="AmqpConnection"/>): its lifecycle
/// (open, close, abort) and what the channels see of it. The pieces are their own classes:
/// <see cref="ConnectionHandshake"/> negotiates, <see cref="ConnectionReader"/> reads and routes frames,
/// <see cref="OutboundWriter"/> writes, <see cref="HeartbeatMonitor"/> watches liveness and
/// <see cref="ChannelTable"/> holds the channels. When it ends, for whatever reason, every pending
/// operation on it fails at once and the owner's supervisor decides whether to connect again.
/// </summary>
internal sealed class ConnectionSession
{
    private readonly SocketTransport _transport;
    private readonly ChannelTable _channels = new();
    private readonly TaskCompletionSource<Exception?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Created by whichever side comes first (see Signal): an idle connection that never closes needs none of them.
    private TaskCompletionSource? _finalWritten;
    private TaskCompletionSource? _closeOkReceived;
    private SemaphoreSlim? _updateSecret; // one connection.update-secret at a time: its -ok names no request
    private TaskCompletionSource? _updateSecretOk;
    private readonly CancellationTokenSource _stopping = new();
    private HeartbeatMonitor? _heartbeats;
    private long _consumerTagCounter;
    private int _aborted;
    private int _hookPhase;
    private volatile bool _closingByClient;
    private volatile bool _finalQueued; // connection.close or close-ok is queued: nothing after it reaches the broker
    private volatile TaskCompletionSource? _unblocked;
    private readonly object _blockedLock = new();
    private long _blockedSince;

    private ConnectionSession(AmqpConnection owner, AmqpConnectionOptions options, SocketTransport transport, int generation, ConnectionHandshake handshake)
    {
        Owner = owner;
        Options = options;
        _transport = transport;
        Generation = generation;
        FrameMax = handshake.FrameMax;
        ChannelMax = handshake.ChannelMax;
        Heartbeat = handshake.Heartbeat;
        ServerProperties = handshake.ServerProperties;
        _channels.Initialize(ChannelMax);
        Writer = new OutboundWriter(transport.Output, 64, options.TimeProvider, transport.SendProgress);
        Writer.FinalWritten = () => _ = SignalFinalSentAsync();
        owner.Metrics.Track(this);
    }

    /// <summary>channel.open requests sent on this connection (shows pooled reuse in tests).</summary>
    public int ChannelOpenCount;

    public AmqpConnection Owner { get; }

    public AmqpConnectionOptions Options { get; }

    public int Generation { get; }

    public OutboundWriter Writer { get; }

    public AmqpEndpoint Endpoint => _transport.Endpoint;

    /// <summary>The broker's IP address as connected.</summary>
    public string? PeerAddress => _transport.PeerAddress;

    /// <summary>Negotiated frame_max (0 = no limit).</summary>
    public uint FrameMax { get; }

    /// <summary>Negotiated channel_max (never 0: "no limit" becomes 65535).</summary>
    public ushort ChannelMax { get; }

    /// <summary>Negotiated heartbeat (zero = off).</summary>
    public TimeSpan Heartbeat { get; }

    /// <summary>The broker's connection.start server-properties.</summary>
    public IDictionary<string, object?> ServerProperties { get; }

    /// <summary>Frame size used to split bodies: the negotiated frame_max, or 128 KiB when there is no limit.</summary>
    public int FrameMaxForBodies => FrameMax == 0 ? 131_072 : (int)Math.Min(FrameMax, int.MaxValue);

    /// <summary>Completes when this connection has ended; the result is why (null after a clean close).</summary>
    public Task<Exception?> Completion => _completion.Task;

    /// <summary>
    /// True while new work can reach the broker: not aborted, and no connection.close or close-ok queued (after the
    /// broker's connection.close the writer ends and every channel's queue refuses commands; handing out channels then
    /// made renters fail at once, over and over, until the socket closed).
    /// </summary>
    public bool IsOpen => Volatile.Read(ref _aborted) == 0 && !_closingByClient && !_finalQueued;

    /// <summary>True once <see cref="Abort"/> has run: the connection is gone.</summary>
    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>True while this is the owner's current connection.</summary>
    public bool IsCurrent => IsOpen && Owner.IsCurrentSession(this);

    /// <summary>True while the broker has blocked this connection (memory or disk alarm).</summary>
    public bool IsBlocked => _unblocked is not null;

    /// <summary>Where this generation is with its on-connect hooks (set by the supervisor only).</summary>
    public HookPhase HookPhase
    {
        get => (HookPhase)Volatile.Read(ref _hookPhase);
        set => Volatile.Write(ref _hookPhase, (int)value);
    }

    /// <summary>True while the on-connect hooks of this generation run (they may use channels before the gate opens).</summary>
    public bool HooksRunning => HookPhase == HookPhase.Running;

    /// <summary>Cancelled as soon as this connection starts to go (loss, server close or client close).</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>
    /// Connects (bounded by <see cref="AmqpConnectionOptions.ConnectionTimeout"/>), performs the TLS and AMQP
    /// handshakes (bounded together by <see cref="AmqpConnectionOptions.HandshakeTimeout"/>) and starts the
    /// reader, writer and heartbeat tasks. A timeout is a <see cref="TimeoutException"/> naming its stage.
    /// </summary>
    public static async Task<ConnectionSession> OpenAsync(AmqpConnection owner, AmqpConnectionOptions options, AmqpEndpoint endpoint, int generation, CancellationToken cancellationToken)
    {
        System.Net.Sockets.Socket socket;
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connectTimeout.CancelAfter(options.ConnectionTimeout);
            try
            {
                socket = await SocketTransport.ConnectTcpAsync(endpoint, connectTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The TCP connect to {endpoint} timed out after {Seconds(options.ConnectionTimeout)} s (ConnectionTimeout).");
            }
        }

        using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        handshakeTimeout.CancelAfter(options.HandshakeTimeout);
        SocketTransport transport;
        try
        {
            transport = await SocketTransport.CreateAsync(socket, endpoint, options.UseTls ? options.Tls : null, handshakeTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (handshakeTimeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The TLS handshake with {endpoint} did not finish within {Seconds(options.HandshakeTimeout)} s (HandshakeTimeout).", ex);
        }

        var handshake = new ConnectionHandshake(transport, options);
        try
        {
            using (handshakeTimeout.Token.UnsafeRegister(static t => ((SocketTransport)t!).Abort(), transport))
            {
                await handshake.RunAsync(handshakeTimeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // The reader task never started: the handshake was the PipeReader's only user, so it completes it here.
            await transport.Input.CompleteAsync().ConfigureAwait(false);
            await transport.DisposeAsync().ConfigureAwait(false);
            if (handshakeTimeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested && ex is not AmqpException or AmqpConnectionLostException)
            {
                throw new TimeoutException(
                    $"The AMQP handshake with {endpoint} did not finish within {Seconds(options.HandshakeTimeout)} s (HandshakeTimeout): no {handshake.Awaiting} from the broker.", ex);
            }

            if (options.UseTls && TlsHandshake.FromPostHandshakeFailure(endpoint, ex) is { } tlsFailure)
            {
                throw tlsFailure;
            }

            throw;
        }

        var session = new ConnectionSession(owner, options, transport, generation, handshake);
        session.Start();
        return session;
    }

    private void Start()
    {
        _ = RunWriterAsync();
        _heartbeats = Heartbeat > TimeSpan.Zero
            ? new HeartbeatMonitor(Heartbeat, Options.TimeProvider, Writer, Endpoint, Abort)
            : null;
        _ = new ConnectionReader(this, _transport.Input, _channels, FrameMax, _heartbeats).RunAsync();
        _heartbeats?.Start();
        if (IsAborted)
        {
            // Aborted (by the writer or the reader) before the monitor was there to be stopped.
            _heartbeats?.Stop();
        }
    }

    // ------------------------------------------------------------------ channels

    /// <summary>Allocates a channel number and creates an unopened channel; throws when all numbers are in use.</summary>
    public ChannelCore CreateChannel(ChannelOptions options) =>
        _channels.TryCreate(this, options, static s => s.IsOpen) ?? throw new ChannelsExhaustedException(ChannelMax);

    /// <summary>Completes the next time a channel number is freed or a channel goes back to a pool (or the connection ends).</summary>
    public Task ChannelAvailable => _channels.Available;

    /// <summary>Wakes renters waiting in <see cref="ChannelAvailable"/>.</summary>
    public void SignalChannelAvailable() => _channels.SignalAvailable();

    /// <summary>Frees a channel's number once the broker has forgotten the channel.</summary>
    public void ReleaseChannel(ChannelCore channel)
    {
        _channels.Release(channel);
        Writer.Forget(channel.Queue);
    }

    /// <summary>Channels currently holding a number (for tests and diagnostics).</summary>
    public int OpenChannelCount => _channels.Count;

    /// <summary>The channel table right now (for metrics; entries may be null).</summary>
    public ChannelCore?[] ChannelSnapshot() => _channels.Snapshot();

    private long _bytesReceived;

    /// <summary>Bytes read from the socket (for metrics).</summary>
    public long BytesReceived => Volatile.Read(ref _bytesReceived);

    /// <summary>Reader: <paramref name="bytes"/> more were consumed from the socket (its only writer).</summary>
    public void CountReceived(long bytes) => Volatile.Write(ref _bytesReceived, _bytesReceived + bytes);

    public string NextConsumerTag(ushort channel) =>
        $"nucleon-{Generation}-{channel}-{Interlocked.Increment(ref _consumerTagCounter)}";

    // ------------------------------------------------------------------ blocked

    public Task WaitUnblockedAsync(CancellationToken cancellationToken)
    {
        var gate = _unblocked;
        return gate is null ? Task.CompletedTask : gate.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The broker blocked (with its reason) or unblocked (null) this connection.</summary>
    public void SetBlocked(string? reason)
    {
        // Under the lock, with Abort's side: a Blocked posted after its Unblocked, or after the end, would stay unanswered.
        lock (_blockedLock)
        {
            if (IsAborted)
            {
                return;
            }

            if (reason is not null)
            {
                // Only the change is signalled, so every Blocked is followed by exactly one Unblocked.
                if (Interlocked.CompareExchange(ref _unblocked, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null) is null)
                {
                    _blockedSince = Options.TimeProvider.GetTimestamp();
                    ConnectionLog.Blocked(Owner.Loggers.Connection, Generation, Endpoint, reason);
                    Owner.RaiseBlocked(new AmqpBlockedEventArgs(Endpoint, Generation, reason));
                }
            }
            else if (Interlocked.Exchange(ref _unblocked, null) is { } gate)
            {
                gate.TrySetResult();
                SignalUnblocked(connectionEnded: false);
            }
        }
    }

    private void SignalUnblocked(bool connectionEnded)
    {
        var blockedFor = Options.TimeProvider.GetElapsedTime(_blockedSince);
        ConnectionLog.Unblocked(Owner.Loggers.Connection, Generation, Endpoint, (long)blockedFor.TotalMilliseconds, connectionEnded);
        Owner.RaiseUnblocked(new AmqpUnblockedEventArgs(Endpoint, Generation, blockedFor, connectionEnded));
    }

    // ------------------------------------------------------------------ closing

    // The final frame is on the socket once the send loop has drained the output.
    private async Task SignalFinalSentAsync()
    {
        await Task.WhenAny(_transport.SendLoop, Task.Delay(TimeSpan.FromSeconds(1), Options.TimeProvider)).ConfigureAwait(false);
        Signal(ref _finalWritten).TrySetResult();
    }

    /// <summary>Closes cleanly (connection.close / close-ok), bounded by <paramref name="timeout"/>, then tears down.</summary>
    public async Task CloseAsync(ushort replyCode, string replyText, TimeSpan timeout)
    {
        if (Volatile.Read(ref _aborted) != 0)
        {
            return;
        }

        _closingByClient = true;
        if (TryEnqueueFinal(new ConnectionClose(replyCode, replyText, 0, 0)))
        {
            await Task.WhenAny(Signal(ref _closeOkReceived).Task, Completion, Task.Delay(timeout, Options.TimeProvider)).ConfigureAwait(false);
        }

        Abort(null);
    }

    /// <summary>Tears the connection down at once; pending work fails with <paramref name="reason"/> (or a closed error).</summary>
    public void Abort(Exception? reason)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        var failure = reason ?? new AmqpConnectionLostException("The connection was closed by the application.");
        var channelError = failure as AmqpConnectionLostException
            ?? new AmqpConnectionLostException($"The connection to {Endpoint} was lost: {failure.Message}", failure);

        _stopping.Cancel();
        _heartbeats?.Stop();
        Writer.Stop(channelError);
        _transport.Abort();
        _transport.Input.CancelPendingRead();

        foreach (var channel in _channels.CloseAll())
        {
            channel?.MarkClosed(reason is null ? new AmqpChannelClosedException("The connection was closed by the application.") : channelError, graceful: reason is null);
        }

        lock (_blockedLock)
        {
            if (Interlocked.Exchange(ref _unblocked, null) is { } gate)
            {
                gate.TrySetResult();
                SignalUnblocked(connectionEnded: true);
            }
        }

        SignalChannelAvailable();
        _completion.TrySetResult(reason);
        _ = _transport.DisposeAsync().AsTask();
    }

    // ------------------------------------------------------------------ writer

    private async Task RunWriterAsync()
    {
        var error = await Writer.RunAsync().ConfigureAwait(false);
        if (error is not null)
        {
            Abort(new AmqpConnectionLostException($"Writing to {Endpoint} failed: {error.Message}", error));
        }
    }

    /// <summary>Sends connection.close with a protocol error (bounded wait until it is on the socket).</summary>
    public async Task SendFinalCloseAsync(ushort replyCode, string replyText)
    {
        var close = new ConnectionClose(replyCode, replyText.Length > 200 ? replyText[..200] : replyText, 0, 0);
        if (TryEnqueueFinal(close))
        {
            await WaitFinalWrittenAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Queues connection.close or close-ok on the control lane as the last thing the writer sends.</summary>
    public bool TryEnqueueFinal<T>(in T method) where T : struct, IAmqpMethod<T>
    {
        var command = OutboundCommand.ForMethod(0, method, OutboundKind.ConnectionFinal);
        if (Writer.Control.TryEnqueue(command))
        {
            _finalQueued = true;
            return true;
        }

        command.Release();
        return false;
    }

    /// <summary>Completes once the final frame is on the socket, or after a second.</summary>
    public Task WaitFinalWrittenAsync() => Task.WhenAny(Signal(ref _finalWritten).Task, Task.Delay(TimeSpan.FromSeconds(1), Options.TimeProvider));

    /// <summary>The broker's connection.close-ok arrived.</summary>
    public void OnCloseOk() => Signal(ref _closeOkReceived).TrySetResult();

    // The waiter and the signaller may race to create it: both end up with the one stored first.
    private static TaskCompletionSource Signal(ref TaskCompletionSource? field)
    {
        if (Volatile.Read(ref field) is { } existing)
        {
            return existing;
        }

        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return Interlocked.CompareExchange(ref field, created, null) ?? created;
    }

    /// <summary>The broker's connection.update-secret-ok arrived.</summary>
    public void OnUpdateSecretOk() => Interlocked.Exchange(ref _updateSecretOk, null)?.TrySetResult();

    /// <summary>
    /// connection.update-secret: gives the broker a new secret (an OAuth 2 token) for this connection, and waits for
    /// its -ok. A caller that stops waiting keeps the next update out until that -ok arrives, so it is never taken
    /// for the next update's answer.
    /// </summary>
    public async Task UpdateSecretAsync(string newSecret, string reason, CancellationToken cancellationToken)
    {
        var updateSecret = Volatile.Read(ref _updateSecret) ?? CreateUpdateSecretLock();
        await updateSecret.WaitAsync(cancellationToken).ConfigureAwait(false);
        var ok = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool handedOver = false;
        try
        {
            Volatile.Write(ref _updateSecretOk, ok);
            var command = OutboundCommand.ForMethod(0, new ConnectionUpdateSecret(System.Text.Encoding.UTF8.GetBytes(newSecret), reason));
            if (!IsOpen || !Writer.Control.TryEnqueue(command))
            {
                command.Release();
                throw new AmqpConnectionLostException($"The connection to {Endpoint} is closed; the secret was not sent.");
            }

            var answered = Task.WhenAny(ok.Task, Completion);
            try
            {
                await answered.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                handedOver = true;
                _ = answered.ContinueWith(static (_, s) => ((SemaphoreSlim)s!).Release(), updateSecret,
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                throw;
            }

            if (!ok.Task.IsCompleted)
            {
                throw new AmqpConnectionLostException($"The connection to {Endpoint} ended before the broker answered connection.update-secret.", await Completion.ConfigureAwait(false));
            }
        }
        finally
        {
            if (!handedOver)
            {
                updateSecret.Release();
            }
        }
    }

    private SemaphoreSlim CreateUpdateSecretLock()
    {
        var created = new SemaphoreSlim(1, 1);
        return Interlocked.CompareExchange(ref _updateSecret, created, null) ?? created;
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);
}
