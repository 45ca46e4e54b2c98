using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// A large publish body sent by reference: instead of copying it into the command's buffer, the writer
/// frames it straight from the caller's memory into the socket pipe (one copy of a 4 MiB body instead of
/// two, and no 8 MiB buffer to rent). The publishing call waits for <see cref="WaitAsync"/>, which
/// completes once the writer has copied the body or dropped the command, so the caller's buffer is still
/// free to reuse the moment PublishAsync returns — whatever happened to the command.
/// </summary>
internal sealed class BodyLease : IValueTaskSource
{
    private static readonly ConcurrentQueue<BodyLease> Pool = new();
    private const int PoolLimit = 64;
    private static int _pooled;

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

    private BodyLease()
    {
    }

    /// <summary>The caller's body; read by the writer only until <see cref="Done"/>.</summary>
    public ReadOnlyMemory<byte> Body { get; private set; }

    /// <summary>The largest body-frame payload (frame_max − 8).</summary>
    public int MaxPayload { get; private set; }

    public static BodyLease Rent(ReadOnlyMemory<byte> body, int maxPayload)
    {
        if (Pool.TryDequeue(out var lease))
        {
            Interlocked.Decrement(ref _pooled);
        }
        else
        {
            lease = new BodyLease();
        }

        lease.Body = body;
        lease.MaxPayload = maxPayload;
        return lease;
    }

    /// <summary>The writer is done with <see cref="Body"/> (written or dropped). Called exactly once, by <see cref="OutboundCommand.Release"/>.</summary>
    public void Done()
    {
        Body = default;
        _core.SetResult(true);
    }

    /// <summary>Completes when <see cref="Done"/> was called.</summary>
    public ValueTask WaitAsync() => new(this, _core.Version);

    /// <summary>After <see cref="WaitAsync"/> completed: back to the pool.</summary>
    public void Return()
    {
        _core.Reset();
        if (Interlocked.Increment(ref _pooled) <= PoolLimit)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref _pooled);
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
