using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// A consumer stream's step (<c>MoveNextAsync</c>) that has to wait, reused from step to step. A loop that waits for
/// each message (an RPC server answering one caller at a time) paid an async state machine per wait at every level
/// of the stream, since a pooled one is rented on the thread that waits and returned on the one that wakes it. A
/// stream has at most one step pending, so one instance per stream is enough: <see cref="Wait"/> hands out the step,
/// and when the awaited inner step completes, the owner's resume function decides the outcome (or starts the
/// general, async path for the rare cases).
/// </summary>
internal sealed class PendingStep : IValueTaskSource<bool>
{
    // Inline: the resume runs where the inner step completed (already off the connection's reader), and the
    // stream's caller continues there, as it did when each level was an async method.
    private ManualResetValueTaskSourceCore<bool> _core;
    private readonly Func<bool, Exception?, ValueTask<bool>> _resume;
    private readonly Action _innerCompleted;
    private readonly Action _restCompleted;
    private ConfiguredValueTaskAwaitable<bool>.ConfiguredValueTaskAwaiter _inner;
    private ConfiguredValueTaskAwaitable<bool>.ConfiguredValueTaskAwaiter _rest;

    /// <param name="resume">
    /// Called with the inner step's result (or its exception) once it completed; returns the outcome of the
    /// stream's step. Exceptions it throws become the step's.
    /// </param>
    public PendingStep(Func<bool, Exception?, ValueTask<bool>> resume)
    {
        _resume = resume;
        _innerCompleted = OnInnerCompleted;
        _restCompleted = OnRestCompleted;
    }

    /// <summary>
    /// The stream's step, completed through the resume function once <paramref name="inner"/> completes; an inner
    /// step that completed already is resumed at once (its result is taken either way, which readies a reusable source).
    /// </summary>
    public ValueTask<bool> Wait(ValueTask<bool> inner)
    {
        if (inner.IsCompleted)
        {
            var (result, error) = Outcome(inner.ConfigureAwait(false).GetAwaiter());
            try
            {
                return _resume(result, error);
            }
            catch (Exception ex)
            {
                return ValueTask.FromException<bool>(ex);
            }
        }

        _core.Reset();
        _inner = inner.ConfigureAwait(false).GetAwaiter();
        _inner.UnsafeOnCompleted(_innerCompleted);
        return new ValueTask<bool>(this, _core.Version);
    }

    private static (bool Result, Exception? Error) Outcome(ConfiguredValueTaskAwaitable<bool>.ConfiguredValueTaskAwaiter completed)
    {
        try
        {
            return (completed.GetResult(), null);
        }
        catch (Exception ex)
        {
            return (false, ex);
        }
    }

    private void OnInnerCompleted()
    {
        var (result, error) = Outcome(_inner);
        _inner = default;
        ValueTask<bool> rest;
        try
        {
            rest = _resume(result, error);
        }
        catch (Exception ex)
        {
            _core.SetException(ex);
            return;
        }

        if (rest.IsCompleted)
        {
            Finish(rest.ConfigureAwait(false).GetAwaiter());
            return;
        }

        _rest = rest.ConfigureAwait(false).GetAwaiter();
        _rest.UnsafeOnCompleted(_restCompleted);
    }

    private void OnRestCompleted()
    {
        var rest = _rest;
        _rest = default;
        Finish(rest);
    }

    private void Finish(ConfiguredValueTaskAwaitable<bool>.ConfiguredValueTaskAwaiter completed)
    {
        var (result, error) = Outcome(completed);
        if (error is not null)
        {
            _core.SetException(error);
            return;
        }

        _core.SetResult(result);
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
