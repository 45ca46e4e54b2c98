using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// The one synchronous request a channel may have outstanding (AMQP allows one at a time per
/// channel). Reused for every call, so a round trip allocates nothing. The reader copies the
/// reply's payload into <see cref="Reply"/>; the caller decodes it on its own thread.
/// A caller that gives up (cancellation) leaves the slot "abandoned": the late reply is dropped
/// when it arrives and only then is the next call let in, so a late reply can never be taken
/// for the answer to a later call.
/// </summary>
internal sealed class RpcSlot : IValueTaskSource<int>
{
    private const int Idle = 0, Waiting = 1, Abandoned = 2, Done = 3;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private ManualResetValueTaskSourceCore<int> _core = new() { RunContinuationsAsynchronously = true };
    private int _state;
    private uint _expected1;
    private uint _expected2;
    private CancellationTokenRegistration _cancellation;
    private byte[] _reply = new byte[128];

    /// <summary>The reply payload (class and method ids included).</summary>
    public ReadOnlySpan<byte> Reply => _reply.AsSpan(0, ReplyLength);

    public int ReplyLength { get; private set; }

    /// <summary>The method id (class &lt;&lt; 16 | method) of the reply that arrived.</summary>
    public uint ReplyId { get; private set; }

    /// <summary>For basic.get: whether the get asked for auto-ack (an abandoned auto-ack message must not be rejected).</summary>
    public bool GetAutoAck { get; set; }

    /// <summary>For basic.get: the assembled message that followed get-ok.</summary>
    public object? Content { get; set; }

    /// <summary>True while a call waits for a reply (the reader routes sync replies here).</summary>
    public bool IsWaiting => Volatile.Read(ref _state) == Waiting;

    /// <summary>Enters the slot: waits for the previous call (or its abandoned reply) to finish.</summary>
    public ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        var t = _gate.WaitAsync(0, CancellationToken.None);
        if (t.IsCompletedSuccessfully && t.Result)
        {
            return ValueTask.CompletedTask;
        }

        return new ValueTask(_gate.WaitAsync(cancellationToken));
    }

    /// <summary>
    /// Prepares to wait for one of two reply method ids; call after <see cref="EnterAsync"/> and before the
    /// request is queued. The token is watched from here on: registered before the request can be answered,
    /// and unregistered before the next call can enter, so a stale registration can never abandon a later call.
    /// </summary>
    public void Arm(uint expected1, uint expected2, CancellationToken cancellationToken)
    {
        _core.Reset();
        _expected1 = expected1;
        _expected2 = expected2;
        Content = null;
        ReplyLength = 0;
        Volatile.Write(ref _state, Waiting);
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(static (s, ct) => ((RpcSlot)s!).Cancel(ct), this);
        }
    }

    /// <summary>Waits for the reply; the result is its payload length.</summary>
    public ValueTask<int> WaitAsync() => new(this, _core.Version);

    /// <summary>The caller is done with the reply: lets the next call in.</summary>
    /// <remarks>After a cancellation the slot stays abandoned: the reader releases it when the late reply arrives.</remarks>
    public void Leave()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Done) == Done)
        {
            LetNextIn();
        }
    }

    /// <summary>The request could not be queued: leave without waiting.</summary>
    public void Disarm()
    {
        Volatile.Write(ref _state, Idle);
        LetNextIn();
    }

    // Disposing waits for a cancellation callback that is running right now, so it cannot reach the next call.
    private void LetNextIn()
    {
        _cancellation.Dispose();
        _cancellation = default;
        _gate.Release();
    }

    /// <summary>The first reply id the waiting call accepts (for error messages).</summary>
    public uint ExpectedId => _expected1;

    /// <summary>Reader: does a reply with this id answer the waiting call?</summary>
    public bool Expects(uint id) => id == _expected1 || id == _expected2;

    /// <summary>Reader: a reply arrived. Returns false when nobody waits for one (a protocol error).</summary>
    public bool TryComplete(uint id, ReadOnlySpan<byte> payload)
    {
        int state = Volatile.Read(ref _state);
        if (state == Abandoned)
        {
            // The caller gave up; this is its late reply. Drop it and let the next call in.
            if (Interlocked.CompareExchange(ref _state, Idle, Abandoned) == Abandoned)
            {
                LetNextIn();
            }

            return true;
        }

        if (state != Waiting)
        {
            return false;
        }

        if (_reply.Length < payload.Length)
        {
            _reply = new byte[Math.Max(payload.Length, _reply.Length * 2)];
        }

        payload.CopyTo(_reply);
        ReplyLength = payload.Length;
        ReplyId = id;
        if (Interlocked.CompareExchange(ref _state, Done, Waiting) == Waiting)
        {
            _core.SetResult(payload.Length);
        }

        return true;
    }

    /// <summary>The channel or connection failed: the waiting call (if any) gets the error.</summary>
    public void Fail(Exception error)
    {
        int state = Volatile.Read(ref _state);
        if (state == Waiting && Interlocked.CompareExchange(ref _state, Done, Waiting) == Waiting)
        {
            _core.SetException(error);
        }
        else if (state == Abandoned && Interlocked.CompareExchange(ref _state, Idle, Abandoned) == Abandoned)
        {
            // Only for an ended channel or connection: no late reply will come any more.
            LetNextIn();
        }
    }

    private void Cancel(CancellationToken token)
    {
        if (Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Waiting)
        {
            _core.SetException(new OperationCanceledException("The call was cancelled while waiting for the broker's reply; the channel stays usable and the late reply will be discarded.", token));
        }
    }

    int IValueTaskSource<int>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
