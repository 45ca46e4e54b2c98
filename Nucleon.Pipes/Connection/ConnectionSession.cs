using System.Buffers;
using System.IO.Pipelines;
using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Transport;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// One physical AMQP connection (one "generation" of an <see cref="AmqpConnection"/>): the socket,
/// the handshake, the single reader and single writer tasks, heartbeats, and the table of open
/// channels. When it ends, for whatever reason, every pending operation on it fails at once and
/// the owner's supervisor decides whether to connect again.
/// </summary>
internal sealed partial class ConnectionSession
{
    private readonly SocketTransport _transport;
    private readonly object _channelsLock = new();
    private readonly TaskCompletionSource<Exception?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _finalWritten = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closeOkReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    // Channel number -> channel; grown on demand (see GrowChannelTable), read by the reader without a lock.
    private const int InitialChannelTableSize = 32;
    private ChannelCore?[] _channels = [];
    private int _nextChannel = 1;
    private int _openChannels;
    private long _consumerTagCounter;
    private long _lastReadTimestamp;
    private int _aborted;
    private int _hookPhase;
    private volatile bool _closingByClient;
    private volatile TaskCompletionSource? _unblocked;
    private TaskCompletionSource _channelAvailable = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[] _scratch = [];

    private ConnectionSession(AmqpConnection owner, AmqpConnectionOptions options, SocketTransport transport, int generation)
    {
        Owner = owner;
        Options = options;
        _transport = transport;
        Generation = generation;
        Writer = new OutboundWriter(transport.Output, 64, options.TimeProvider);
        Writer.FinalWritten = () => _ = SignalFinalSentAsync();
        _lastReadTimestamp = options.TimeProvider.GetTimestamp();
    }

    /// <summary>channel.open requests sent on this connection (shows pooled reuse in tests).</summary>
    public int ChannelOpenCount;

    public AmqpConnection Owner { get; }

    public AmqpConnectionOptions Options { get; }

    public int Generation { get; }

    public OutboundWriter Writer { get; }

    public AmqpEndpoint Endpoint => _transport.Endpoint;

    /// <summary>Negotiated frame_max (0 = no limit).</summary>
    public uint FrameMax { get; private set; }

    /// <summary>Negotiated channel_max (never 0: "no limit" becomes 65535).</summary>
    public ushort ChannelMax { get; private set; }

    /// <summary>Negotiated heartbeat (zero = off).</summary>
    public TimeSpan Heartbeat { get; private set; }

    /// <summary>The broker's connection.start server-properties.</summary>
    public IDictionary<string, object?> ServerProperties { get; private set; } = new Dictionary<string, object?>();

    /// <summary>Frame size used to split bodies: the negotiated frame_max, or 128 KiB when there is no limit.</summary>
    public int FrameMaxForBodies => FrameMax == 0 ? 131_072 : (int)Math.Min(FrameMax, int.MaxValue);

    /// <summary>Completes when this connection has ended; the result is why (null after a clean close).</summary>
    public Task<Exception?> Completion => _completion.Task;

    public bool IsOpen => Volatile.Read(ref _aborted) == 0 && !_closingByClient;

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

        var session = new ConnectionSession(owner, options, transport, generation);
        try
        {
            using (handshakeTimeout.Token.UnsafeRegister(static t => ((SocketTransport)t!).Abort(), transport))
            {
                await session.HandshakeAsync(handshakeTimeout.Token).ConfigureAwait(false);
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
                    $"The AMQP handshake with {endpoint} did not finish within {Seconds(options.HandshakeTimeout)} s (HandshakeTimeout): no {session._awaiting} from the broker.", ex);
            }

            if (options.UseTls && TlsHandshake.FromPostHandshakeFailure(endpoint, ex) is { } tlsFailure)
            {
                throw tlsFailure;
            }

            throw;
        }

        session.Start();
        return session;
    }

    private void Start()
    {
        _ = RunWriterAsync();
        _ = RunReaderAsync();
        if (Heartbeat > TimeSpan.Zero)
        {
            _ = RunHeartbeatsAsync();
        }
    }

    // ------------------------------------------------------------------ channels

    /// <summary>Allocates a channel number and creates an unopened channel; throws when all numbers are in use.</summary>
    public ChannelCore CreateChannel(ChannelOptions options) =>
        TryCreateChannel(options) ?? throw new ChannelsExhaustedException(ChannelMax);

    /// <summary>Completes the next time a channel number is freed or a channel goes back to a pool (or the connection ends).</summary>
    public Task ChannelAvailable
    {
        get
        {
            lock (_channelsLock)
            {
                return _channelAvailable.Task;
            }
        }
    }

    /// <summary>Wakes renters waiting in <see cref="ChannelAvailable"/>.</summary>
    public void SignalChannelAvailable()
    {
        TaskCompletionSource signal;
        lock (_channelsLock)
        {
            signal = _channelAvailable;
            _channelAvailable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
    }

    /// <summary>Like <see cref="CreateChannel"/>, but returns null when all channel numbers are in use.</summary>
    private ChannelCore? TryCreateChannel(ChannelOptions options)
    {
        lock (_channelsLock)
        {
            if (!IsOpen)
            {
                throw new AmqpConnectionLostException("The connection is closed; wait for the next connection.");
            }

            // Round-robin from the last number handed out, so a just-freed number is reused last.
            for (int i = 0; i < ChannelMax; i++)
            {
                int n = ((_nextChannel - 1 + i) % ChannelMax) + 1;
                if (n >= _channels.Length)
                {
                    GrowChannelTable(n);
                }

                if (_channels[n] is null)
                {
                    var core = new ChannelCore(this, (ushort)n, options);
                    _channels[n] = core;
                    _nextChannel = n + 1;
                    _openChannels++;
                    return core;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Makes room for channel number <paramref name="number"/> (under <c>_channelsLock</c>). The table starts
    /// small and doubles up to channel_max + 1, so an idle connection does not carry 16 KiB of empty slots;
    /// the reader looks channels up without a lock and sees the new table from its next frame on.
    /// </summary>
    private void GrowChannelTable(int number)
    {
        var old = _channels;
        var grown = new ChannelCore?[Math.Min(ChannelMax + 1, Math.Max(number + 1, old.Length * 2))];
        Array.Copy(old, grown, old.Length);
        Volatile.Write(ref _channels, grown);
    }

    /// <summary>Frees a channel's number once the broker has forgotten the channel.</summary>
    public void ReleaseChannel(ChannelCore channel)
    {
        lock (_channelsLock)
        {
            if (channel.Number < _channels.Length && _channels[channel.Number] == channel)
            {
                _channels[channel.Number] = null;
                _openChannels--;
            }
        }

        Writer.Forget(channel.Queue);
        SignalChannelAvailable();
    }

    /// <summary>Channels currently holding a number (for tests and diagnostics).</summary>
    public int OpenChannelCount
    {
        get
        {
            lock (_channelsLock)
            {
                return _openChannels;
            }
        }
    }

    public string NextConsumerTag(ushort channel) =>
        $"nucleon-{Generation}-{channel}-{Interlocked.Increment(ref _consumerTagCounter)}";

    private ChannelCore? Channel(ushort number)
    {
        var table = Volatile.Read(ref _channels);
        return number < table.Length ? Volatile.Read(ref table[number]) : null;
    }

    // ------------------------------------------------------------------ blocked

    public Task WaitUnblockedAsync(CancellationToken cancellationToken)
    {
        var gate = _unblocked;
        return gate is null ? Task.CompletedTask : gate.Task.WaitAsync(cancellationToken);
    }

    private void SetBlocked(string? reason)
    {
        if (reason is not null)
        {
            Interlocked.CompareExchange(ref _unblocked, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);
            Owner.RaiseBlocked(reason);
        }
        else if (Interlocked.Exchange(ref _unblocked, null) is { } gate)
        {
            gate.TrySetResult();
            Owner.RaiseUnblocked();
        }
    }

    // ------------------------------------------------------------------ closing

    // The final frame is on the socket once the send loop has drained the output.
    private async Task SignalFinalSentAsync()
    {
        await Task.WhenAny(_transport.SendLoop, Task.Delay(TimeSpan.FromSeconds(1), Options.TimeProvider)).ConfigureAwait(false);
        _finalWritten.TrySetResult();
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
            await Task.WhenAny(_closeOkReceived.Task, Completion, Task.Delay(timeout, Options.TimeProvider)).ConfigureAwait(false);
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
        Writer.Stop(channelError);
        _transport.Abort();
        _transport.Input.CancelPendingRead();

        ChannelCore?[] channels;
        lock (_channelsLock)
        {
            channels = _channels;
            _channels = new ChannelCore?[channels.Length];
            _openChannels = 0;
        }

        foreach (var channel in channels)
        {
            channel?.MarkClosed(reason is null ? new AmqpChannelClosedException("The connection was closed by the application.") : channelError, graceful: reason is null);
        }

        if (Interlocked.Exchange(ref _unblocked, null) is { } gate)
        {
            gate.TrySetResult();
        }

        SignalChannelAvailable();
        _completion.TrySetResult(reason);
        _ = _transport.DisposeAsync().AsTask();
    }

    // ------------------------------------------------------------------ heartbeats

    private async Task RunHeartbeatsAsync()
    {
        var time = Options.TimeProvider;
        var tick = Heartbeat / 2;
        byte[] heartbeat = new byte[AmqpConstants.FrameOverhead];
        FrameWriter.WriteHeartbeat(heartbeat);
        try
        {
            using var timer = new PeriodicTimer(tick, time);
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                var sinceRead = time.GetElapsedTime(Volatile.Read(ref _lastReadTimestamp));
                if (sinceRead > Heartbeat * 2)
                {
                    Abort(new AmqpConnectionLostException(
                        $"Heartbeat timeout: nothing received from {Endpoint} for {sinceRead.TotalSeconds:0.#} s (heartbeat {Heartbeat.TotalSeconds:0.#} s)."));
                    return;
                }

                if (time.GetElapsedTime(Writer.LastWriteTimestamp) >= tick)
                {
                    byte[] frame = OutboundCommand.Rent(heartbeat.Length);
                    heartbeat.CopyTo(frame, 0);
                    if (!Writer.Control.TryEnqueue(new OutboundCommand(frame, heartbeat.Length)))
                    {
                        BufferPool.Return(frame);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
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

    private ReadOnlySpan<byte> Contiguous(in ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return payload.FirstSpan;
        }

        if (_scratch.Length < payload.Length)
        {
            _scratch = new byte[Math.Max((int)payload.Length, 4096)];
        }

        payload.CopyTo(_scratch);
        return _scratch.AsSpan(0, (int)payload.Length);
    }

    private PipeReader Input => _transport.Input;

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Every channel number of the connection (its negotiated channel_max) is in use. Pool renters wait instead.</summary>
internal sealed class ChannelsExhaustedException(ushort channelMax)
    : AmqpException($"All {channelMax} channels of this connection (the negotiated channel_max) are in use.");
