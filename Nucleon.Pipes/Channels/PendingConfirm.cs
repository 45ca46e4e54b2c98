using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// One publish awaiting its confirm. Two parties hold it: the tracker (until the broker's ack or
/// nack, or the channel's end, removes it) and the publisher's await (until it reads the result).
/// The publisher may stop waiting early when its token fires; the tracker still holds the entry,
/// because the broker still counts the publish as outstanding. It goes back to the pool only when
/// both have let go, so a late confirm can never complete someone else's publish.
/// </summary>
internal sealed class PendingConfirm(Action<PendingConfirm> recycle) : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _cancellation;
    private int _completed;
    private int _holders;

    /// <summary>Prepares for a new publish: both holders take their reference, the token is watched.</summary>
    /// <remarks>Call before the publish is visible to the reader, so the registration can never outlive this use.</remarks>
    public void Arm(CancellationToken cancellationToken)
    {
        Returned = null;
        _completed = 0;
        _holders = 2;
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(static (s, ct) => ((PendingConfirm)s!).Cancel(ct), this);
        }
    }

    /// <summary>The publish's exchange, routing key and properties when it was mandatory (to match a basic.return).</summary>
    public MandatoryPublish Mandatory { get; set; }

    /// <summary>The broker returned this message: its confirm fails with this.</summary>
    public AmqpMessageReturnedException? Returned { get; set; }

    public ValueTask AsValueTask() => new(this, _core.Version);

    public void Succeed()
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _core.SetResult(true);
        }
    }

    public void Fail(Exception error)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _core.SetException(error);
        }
    }

    /// <summary>The tracker lets go (confirmed, failed, or the publish was never queued).</summary>
    public void ReleaseByTracker() => Release();

    /// <summary>Never queued: neither holder will use it, so both references go at once.</summary>
    public void Discard()
    {
        _completed = 1;
        _holders = 0;
        Mandatory = default;
        _cancellation.Dispose();
        _cancellation = default;
        _core.Reset();
        recycle(this);
    }

    private void Cancel(CancellationToken token)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _core.SetException(new OperationCanceledException(
                "Stopped waiting for the publisher confirm: the message may still reach the broker and be confirmed.", token));
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0)
        {
            // Waits for a cancellation callback that is running right now, so it cannot touch the next use.
            Mandatory = default;
            Returned = null;
            _cancellation.Dispose();
            _cancellation = default;
            _core.Reset();
            recycle(this);
        }
    }

    public void GetResult(short token)
    {
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            Release();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
