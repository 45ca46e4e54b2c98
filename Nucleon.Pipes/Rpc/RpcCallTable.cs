using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Rpc;

/// <summary>
/// The calls in flight of one RPC client, by the index in their correlation id, and the pool of
/// <see cref="PendingCall"/> objects. A call takes a free index when it starts and gives it back when
/// its caller has its result; the object itself goes back to the pool only when the reply is released,
/// so a reply the caller never disposes costs a later allocation, never a leak. Versions come from one
/// counter and are never reused.
/// </summary>
internal sealed class RpcCallTable(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Stack<int> _freeIndices = new();
    private readonly Stack<PendingCall> _pool = new();
    private PendingCall?[] _byIndex = new PendingCall?[16];
    private int _used; // indices handed out so far (free ones are on the stack)
    private long _nextVersion;
    private long _dropped;
    private bool _disposed;

    /// <summary>Replies that matched no call in flight (late after a timeout or cancellation, sent twice, or not ours): dropped.</summary>
    public long DroppedReplies => Interlocked.Read(ref _dropped);

    /// <summary>Takes a pooled call and a free index for it; returns the call's version.</summary>
    public PendingCall Rent(out long version)
    {
        lock (_lock)
        {
            var call = _pool.Count > 0 ? _pool.Pop() : new PendingCall(this, time);
            int index;
            if (_freeIndices.Count > 0)
            {
                index = _freeIndices.Pop();
            }
            else
            {
                index = _used++;
                if (index == _byIndex.Length)
                {
                    var grown = new PendingCall?[_byIndex.Length * 2];
                    _byIndex.CopyTo(grown, 0);
                    Volatile.Write(ref _byIndex, grown);
                }
            }

            call.Index = index;
            _byIndex[index] = call;
            version = ++_nextVersion;
            return call;
        }
    }

    /// <summary>The call's caller has its result: its index is free for the next call.</summary>
    public void Unlist(PendingCall call)
    {
        lock (_lock)
        {
            int index = call.Index;
            if (index >= 0 && ReferenceEquals(_byIndex[index], call))
            {
                _byIndex[index] = null;
                _freeIndices.Push(index);
            }

            call.Index = -1;
        }
    }

    /// <summary>A released call goes back to the pool (or, once the client is disposed, its timer goes).</summary>
    public void Return(PendingCall call)
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                _pool.Push(call);
                return;
            }
        }

        call.DisposeTimer();
    }

    /// <summary>A reply arrived: hands it to the call it names, or drops and counts it.</summary>
    public bool Deliver(string? correlationId, ReadOnlySpan<byte> body, BasicProperties properties)
    {
        if (Find(correlationId, out long version) is { } call && call.TryReply(version, body, properties))
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>
    /// As <see cref="Deliver"/>, for a reply whose properties are still the bytes received (without headers, checked):
    /// the correlation id is read from them, and the call keeps them to decode only if its caller reads them.
    /// </summary>
    public bool DeliverRaw(ReadOnlySpan<byte> rawProperties, ReadOnlySpan<byte> body)
    {
        if (BasicPropertiesCodec.TryWalkPlain(rawProperties, out var correlationId)
            && RpcCorrelation.TryParse(correlationId, out int index, out long version)
            && Find(index) is { } call
            && call.TryReply(version, body, rawProperties))
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Fails the call a correlation id names, if it still waits (e.g. its request came back as unroutable).</summary>
    public void Fail(string? correlationId, Exception error) => Find(correlationId, out long version)?.TryFail(version, error);

    /// <summary>Fails every call in flight that was sent on <paramref name="link"/>.</summary>
    public void FailAll(object link, Exception error)
    {
        foreach (var call in Volatile.Read(ref _byIndex))
        {
            call?.FailIfSentOn(link, error);
        }
    }

    /// <summary>No call is pooled from now on; pooled calls' timers go.</summary>
    public void Dispose()
    {
        PendingCall[] pooled;
        lock (_lock)
        {
            _disposed = true;
            pooled = [.. _pool];
            _pool.Clear();
        }

        foreach (var call in pooled)
        {
            call.DisposeTimer();
        }
    }

    private PendingCall? Find(string? correlationId, out long version)
    {
        if (!RpcCorrelation.TryParse(correlationId, out int index, out version))
        {
            return null;
        }

        return Find(index);
    }

    private PendingCall? Find(int index)
    {
        var calls = Volatile.Read(ref _byIndex);
        return index < calls.Length ? Volatile.Read(ref calls[index]) : null;
    }
}
