using System.Buffers;
using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Rpc;

/// <summary>
/// One RPC call waiting for its reply; pooled by its <see cref="RpcCallTable"/>, so a call in steady
/// state allocates none of this. Its stamp (version and state in one field) decides every race: the
/// reply, the timeout, the caller's token and the loss of the channel each try to move it from pending
/// to completed for one version, and only the first wins. Versions are never reused, so a reply or
/// timer meant for an earlier use of this object finds another version and does nothing.
/// </summary>
internal sealed class PendingCall : IValueTaskSource
{
    private const long Idle = 0;
    private const long Pending = 1;
    private const long Completed = 2;

    // Reply buffers up to this size are kept for the next call; larger ones go back to the shared pool.
    private const int KeptBufferLimit = 64 * 1024;

    private readonly RpcCallTable _table;
    private readonly TimeProvider _time;
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private long _stamp;
    private long _deadline = long.MaxValue; // TimeProvider timestamp; MaxValue: no timeout
    private TimeSpan _timeout;
    private ITimer? _timer;
    private CancellationTokenRegistration _cancellation;
    private object? _link;
    private string _exchange = string.Empty;
    private string _routingKey = string.Empty;
    private byte[] _buffer = [];
    private int _length;
    private BasicProperties? _properties = BasicProperties.Empty; // null: decoded from _rawProperties when first read
    private byte[]? _rawProperties;
    private int _rawLength;

    public PendingCall(RpcCallTable table, TimeProvider time)
    {
        _table = table;
        _time = time;
    }

    /// <summary>The call's place in the table while it waits; -1 when it has none.</summary>
    public int Index { get; set; } = -1;

    /// <summary>The correlation id of the current call (tests and diagnostics: this allocates; requests are stamped in place).</summary>
    public string CorrelationId => RpcCorrelation.Format(_armedIndex, VersionOf(Volatile.Read(ref _stamp)));

    private int _armedIndex;

    private static long Stamp(long version, long state) => (version << 2) | state;

    private static long VersionOf(long stamp) => stamp >> 2;

    private static long StateOf(long stamp) => stamp & 3;

    /// <summary>
    /// Starts waiting as call <paramref name="version"/> sent on <paramref name="link"/>: the timer and
    /// the caller's token are watched from here on (a token that already fired fails the call at once).
    /// </summary>
    public void Arm(long version, object link, string exchange, string routingKey, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _armedIndex = Index;
        _link = link;
        _exchange = exchange;
        _routingKey = routingKey;
        _timeout = timeout;
        _deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : _time.GetTimestamp() + (long)(timeout.TotalSeconds * _time.TimestampFrequency);
        // Written last (a full fence): whoever sees the call pending sees its link and deadline.
        Interlocked.Exchange(ref _stamp, Stamp(version, Pending));
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            (_timer ??= CreateTimer()).Change(timeout, Timeout.InfiniteTimeSpan);
        }

        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(static (s, token) => ((PendingCall)s!).OnCancelled(token), this);
        }
    }

    /// <summary>The task the caller awaits; it ends with the reply or the call's error.</summary>
    public ValueTask AsValueTask() => new(this, _core.Version);

    /// <summary>True while call <paramref name="version"/> waits for its reply.</summary>
    public bool IsPending(long version) => Volatile.Read(ref _stamp) == Stamp(version, Pending);

    /// <summary>True while call <paramref name="version"/> has its reply and nobody has released it.</summary>
    public bool HoldsReply(long version) => Volatile.Read(ref _stamp) == Stamp(version, Completed);

    /// <summary>The reply body of a completed call (check <see cref="HoldsReply"/> first).</summary>
    public ReadOnlyMemory<byte> Body => _buffer.AsMemory(0, _length);

    /// <summary>The reply properties of a completed call (decoded on first read when they came as bytes).</summary>
    public BasicProperties Properties => _properties ?? DecodeProperties();

    /// <summary>The reader's dispatch loop: the reply for call <paramref name="version"/>. False when that call is not waiting (late, duplicate).</summary>
    public bool TryReply(long version, ReadOnlySpan<byte> body, BasicProperties properties)
    {
        if (!TryClaim(version))
        {
            return false;
        }

        KeepBody(body);
        _properties = properties;
        _core.SetResult(true);
        return true;
    }

    /// <summary>As above, with the reply's properties as received (checked, without headers): they are decoded only if read.</summary>
    public bool TryReply(long version, ReadOnlySpan<byte> body, ReadOnlySpan<byte> rawProperties)
    {
        if (!TryClaim(version))
        {
            return false;
        }

        KeepBody(body);
        rawProperties.CopyTo(Framing.KeptBuffer.Ensure(ref _rawProperties, rawProperties.Length));
        _rawLength = rawProperties.Length;
        _properties = null;
        _core.SetResult(true);
        return true;
    }

    private void KeepBody(ReadOnlySpan<byte> body)
    {
        if (_buffer.Length < body.Length)
        {
            ReturnBuffer();
            _buffer = ArrayPool<byte>.Shared.Rent(body.Length);
        }

        body.CopyTo(_buffer);
        _length = body.Length;
    }

    // Two readers at once may both decode; each gets equal properties.
    private BasicProperties DecodeProperties() => _properties = Framing.BasicPropertiesCodec.Read(_rawProperties.AsSpan(0, _rawLength));

    /// <summary>Ends call <paramref name="version"/> with <paramref name="error"/>; false when it had ended already.</summary>
    public bool TryFail(long version, Exception error)
    {
        if (!TryClaim(version))
        {
            return false;
        }

        _core.SetException(error);
        return true;
    }

    /// <summary>Fails the call waiting here if it was sent on <paramref name="link"/> (which is gone).</summary>
    public void FailIfSentOn(object link, Exception error)
    {
        long stamp = Volatile.Read(ref _stamp);
        if (StateOf(stamp) == Pending && ReferenceEquals(Volatile.Read(ref _link), link))
        {
            TryFail(VersionOf(stamp), error);
        }
    }

    private bool TryClaim(long version) =>
        Interlocked.CompareExchange(ref _stamp, Stamp(version, Completed), Stamp(version, Pending)) == Stamp(version, Pending);

    /// <summary>
    /// Releases call <paramref name="version"/> once its reply was read (or its error thrown): back to the
    /// table's pool. Only the first release of a version does anything.
    /// </summary>
    public void Release(long version)
    {
        if (Interlocked.CompareExchange(ref _stamp, Stamp(version, Idle), Stamp(version, Completed)) != Stamp(version, Completed))
        {
            return;
        }

        _properties = BasicProperties.Empty;
        _rawLength = 0;
        _length = 0;
        _link = null;
        if (_buffer.Length > KeptBufferLimit)
        {
            ReturnBuffer();
        }

        _core.Reset();
        _table.Return(this);
    }

    /// <summary>The client is disposed: the timer goes (a pooled call is never armed again).</summary>
    public void DisposeTimer() => _timer?.Dispose();

    private void ReturnBuffer()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    // Stops watching the timer and the token. Disposing the registration waits for a callback that is
    // running now, so none can touch the next use of this object; a timer that fires late finds a version
    // or deadline that is not its own and does nothing.
    private void Disarm()
    {
        _cancellation.Dispose();
        _cancellation = default;
        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    private ITimer CreateTimer()
    {
        // A pooled timer lives across calls: it must not keep the first caller's ExecutionContext (AsyncLocals).
        if (ExecutionContext.IsFlowSuppressed())
        {
            return NewTimer();
        }

        using (ExecutionContext.SuppressFlow())
        {
            return NewTimer();
        }

        ITimer NewTimer() => _time.CreateTimer(static s => ((PendingCall)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        long stamp = Volatile.Read(ref _stamp);
        if (StateOf(stamp) != Pending)
        {
            return;
        }

        long deadline = Volatile.Read(ref _deadline);
        if (deadline == long.MaxValue)
        {
            return;
        }

        long left = deadline - _time.GetTimestamp();
        if (left > 0)
        {
            // Early by the clocks' difference, or a late tick of an earlier call: wait for this call's own deadline.
            _timer!.Change(TimeSpan.FromSeconds((double)left / _time.TimestampFrequency) + TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
            return;
        }

        TryFail(VersionOf(stamp), new TimeoutException(
            $"No reply within {_timeout.TotalMilliseconds:0.###} ms to the RPC request published to exchange \"{_exchange}\" with routing key \"{_routingKey}\"; a reply that comes later is dropped."));
    }

    private void OnCancelled(CancellationToken token)
    {
        long stamp = Volatile.Read(ref _stamp);
        if (StateOf(stamp) == Pending)
        {
            TryFail(VersionOf(stamp), new OperationCanceledException(
                "The RPC call was cancelled; a reply that comes later is dropped.", token));
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        Disarm();
        // The call is over either way: late replies must find no place to land from now on.
        _table.Unlist(this);
        long version = VersionOf(Volatile.Read(ref _stamp));
        try
        {
            _core.GetResult(token);
        }
        catch
        {
            Release(version);
            throw;
        }
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
