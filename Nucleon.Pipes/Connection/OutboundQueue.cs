using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// A channel's bounded queue of encoded commands waiting for the connection's writer. A full queue (by count or by bytes)
/// makes callers wait (back-pressure) until the writer has drained it to half (see <see cref="CommandQueue"/>). When the queue goes from idle to having work it puts itself
/// on the writer's ready list once; the writer alone reads it, so frames of one command are never
/// interleaved with the same channel's other commands.
/// </summary>
internal sealed class OutboundQueue : IThreadPoolWorkItem
{
    private readonly CommandQueue _commands;
    private readonly OutboundWriter _writer;
    private int _scheduled;

    // Written by the writer only: a large command being sent a few frames per turn, for fairness.
    private OutboundCommand _partial;
    private int _partialOffset;
    private int _bodyOffset; // of _partial's body sent by reference

    public OutboundQueue(OutboundWriter writer, ushort channelNumber, int capacity, long byteCapacity = long.MaxValue)
    {
        _writer = writer;
        ChannelNumber = channelNumber;
        _commands = new CommandQueue(capacity, byteCapacity);
    }

    public ushort ChannelNumber { get; }

    /// <summary>Set when the broker closed the channel: queued commands are dropped, then close-ok is sent.</summary>
    internal OutboundCommand? PendingCloseOk { get; private set; }

    /// <summary>Called by the writer after it wrote a <see cref="OutboundKind.ChannelCloseOk"/>.</summary>
    internal Action? CloseOkWritten { get; set; }

    /// <summary>Adds a command if there is room; never waits.</summary>
    public bool TryEnqueue(in OutboundCommand command)
    {
        if (!_commands.TryAdd(command))
        {
            return false;
        }

        Schedule();
        return true;
    }

    /// <summary>Adds a command without waking the writer; the caller must call <see cref="Schedule"/> next (outside its locks).</summary>
    public bool TryAdd(in OutboundCommand command) => _commands.TryAdd(command);

    /// <summary>Adds a command, waiting while the queue is full.</summary>
    public ValueTask EnqueueAsync(OutboundCommand command, CancellationToken cancellationToken)
    {
        if (TryEnqueue(command))
        {
            return ValueTask.CompletedTask;
        }

        return EnqueueSlowAsync(command, cancellationToken);
    }

    /// <summary>Waits until the queue has room (or is completed). False when it was completed.</summary>
    public ValueTask<bool> WaitForRoomAsync(CancellationToken cancellationToken) =>
        _commands.WaitForRoomAsync(cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask EnqueueSlowAsync(OutboundCommand command, CancellationToken cancellationToken)
    {
        try
        {
            while (await _commands.WaitForRoomAsync(cancellationToken).ConfigureAwait(false))
            {
                if (TryEnqueue(command))
                {
                    return;
                }
            }
        }
        catch
        {
            command.Release();
            throw;
        }

        command.Release();
        throw ClosedReason ?? _writer.ClosedException();
    }

    /// <summary>The broker closed this channel: drop what is queued and send close-ok next.</summary>
    public void ReplaceWithCloseOk(OutboundCommand closeOk, Action written)
    {
        CloseOkWritten = written;
        PendingCloseOk = closeOk;
        _commands.Complete();
        Schedule();
    }

    /// <summary>Why the queue accepts no more commands (thrown to callers that wait for room).</summary>
    public Exception? ClosedReason { get; set; }

    /// <summary>No more commands will be accepted; the writer releases what is still queued.</summary>
    public void Complete(Exception? reason = null)
    {
        ClosedReason ??= reason;
        _commands.Complete();
    }

    // Scheduled at most once at a time (see _scheduled), so the queue itself can be the work item that hands it over.
    void IThreadPoolWorkItem.Execute() => _writer.ReadyNow(this);

    /// <summary>Puts this queue on the writer's ready list unless it is there already.</summary>
    public void Schedule()
    {
        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            _writer.Ready(this);
        }
    }

    /// <summary>
    /// Writer side: copies up to <paramref name="budget"/> bytes of commands into <paramref name="output"/>.
    /// A command larger than the budget is sent frame by frame over several turns so one big message
    /// cannot hold the socket while other channels wait. Returns bytes written and whether work remains.
    /// </summary>
    internal int WriteTurn(OutboundWriter output, int budget, out bool moreWork, out OutboundKind lastKind)
    {
        int written = 0;
        lastKind = OutboundKind.Normal;
        if (PendingCloseOk is { } closeOk)
        {
            if (_partial.Buffer is not null)
            {
                _partial.Release();
                _partial = default;
            }

            _commands.DrainAndRelease();
            output.Copy(closeOk.Buffer.AsSpan(0, closeOk.Length));
            closeOk.Release();
            PendingCloseOk = null;
            CloseOkWritten?.Invoke();
            moreWork = false;
            lastKind = OutboundKind.ChannelCloseOk;
            return closeOk.Length;
        }

        while (written < budget)
        {
            if (_partial.Buffer is null)
            {
                if (!_commands.TryTake(out var next))
                {
                    break;
                }

                if (next.Lease is null && (next.Length <= budget - written || next.Length <= FrameMaxHint))
                {
                    output.Copy(next.Buffer.AsSpan(0, next.Length));
                    written += next.Length;
                    next.Release();
                    lastKind = next.Kind;
                    if (next.Kind == OutboundKind.ConnectionFinal)
                    {
                        moreWork = false;
                        return written;
                    }

                    continue;
                }

                _partial = next;
                _partialOffset = 0;
                _bodyOffset = 0;
            }

            // Send whole frames of the partial command until the budget is used.
            while (_partialOffset < _partial.Length && written < budget)
            {
                int frameSize = AmqpConstants.FrameOverhead
                    + (int)BinaryPrimitives.ReadUInt32BigEndian(_partial.Buffer.AsSpan(_partialOffset + 3, 4));
                output.Copy(_partial.Buffer.AsSpan(_partialOffset, frameSize));
                _partialOffset += frameSize;
                written += frameSize;
            }

            if (_partialOffset >= _partial.Length)
            {
                // The buffer's frames are out; a body sent by reference follows, frame by frame.
                var lease = _partial.Lease;
                if (lease is not null)
                {
                    written += WriteBodyFrames(output, lease, budget - written);
                }

                if (lease is null || _bodyOffset >= lease.Body.Length)
                {
                    _partial.Release();
                    _partial = default;
                }
            }
        }

        moreWork = _partial.Buffer is not null || _commands.HasItems || PendingCloseOk is not null;
        return written;
    }

    // Frames the by-reference body straight from the publisher's memory, whole frames until the budget is used.
    private int WriteBodyFrames(OutboundWriter output, BodyLease lease, int budget)
    {
        var body = lease.Body.Span;
        int written = 0;
        Span<byte> header = stackalloc byte[AmqpConstants.FrameHeaderSize];
        ReadOnlySpan<byte> end = [AmqpConstants.FrameEnd];
        while (_bodyOffset < body.Length && written < budget)
        {
            int chunk = Math.Min(body.Length - _bodyOffset, lease.MaxPayload);
            header[0] = AmqpConstants.FrameBody;
            BinaryPrimitives.WriteUInt16BigEndian(header[1..], ChannelNumber);
            BinaryPrimitives.WriteUInt32BigEndian(header[3..], (uint)chunk);
            output.Copy(header);
            output.Copy(body.Slice(_bodyOffset, chunk));
            output.Copy(end);
            _bodyOffset += chunk;
            written += chunk + AmqpConstants.FrameOverhead;
        }

        return written;
    }

    /// <summary>Writer side: the turn ended with no work left; clear the flag and catch a racing enqueue.</summary>
    internal void Unschedule()
    {
        // A full fence, not a plain store: the look at the queue below must not happen before other threads see the flag
        // cleared, or a producer that added meanwhile (and found the flag still set) would be missed by both.
        Interlocked.Exchange(ref _scheduled, 0);
        if ((_commands.HasItems || PendingCloseOk is not null) && Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            _writer.Ready(this);
        }
    }

    /// <summary>Writer side: releases everything still held (the connection is gone).</summary>
    internal void ReleaseAll()
    {
        _commands.Complete();
        _commands.DrainAndRelease();

        if (_partial.Buffer is not null)
        {
            _partial.Release();
            _partial = default;
        }

        if (PendingCloseOk is { } c)
        {
            c.Release();
            PendingCloseOk = null;
        }
    }

    /// <summary>Commands up to this size are written whole even if they overrun the turn's budget.</summary>
    private const int FrameMaxHint = 16 * 1024;
}
