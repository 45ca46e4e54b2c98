using System.Runtime.CompilerServices;
using Nucleon.Pipes.Connection;
using Nucleon.Pipes.Diagnostics.Tracing;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// Publishing on one channel: encodes basic.publish, its content header and body into one command
/// (or frames a large body from the caller's memory), holds publishes back while the connection is
/// blocked or the broker has paused the channel (channel.flow), and hands confirmed publishes to
/// the channel's <see cref="ConfirmTracker"/>.
/// </summary>
internal sealed class ChannelPublisher(ChannelCore channel)
{
    // Set while the broker has paused this channel's publishing (channel.flow active=false).
    private TaskCompletionSource? _flowResumed;

    // Publishes waiting their turn in PublishInLineAsync, and the line itself.
    private int _waiting;
    private PublishLine? _line;

    /// <summary>Reader: the broker paused (false) or resumed (true) publishing on this channel.</summary>
    public void SetFlow(bool active)
    {
        if (active)
        {
            Interlocked.Exchange(ref _flowResumed, null)?.TrySetResult();
        }
        else
        {
            Interlocked.CompareExchange(ref _flowResumed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);
        }
    }

    /// <summary>Publishes one message: method, header and body frames encoded together into one command.</summary>
    public ValueTask PublishAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties, bool mandatory, CancellationToken cancellationToken) =>
        PublishTelemetry.IsOn(channel)
            ? PublishTelemetry.PublishAsync(this, channel, exchange, routingKey, body, properties, mandatory, wakeWriter: true, cancellationToken)
            : PublishUntracedAsync(exchange, routingKey, body, properties, mandatory, wakeWriter: true, cancellationToken);

    /// <summary>
    /// One message of a batch: as <see cref="PublishAsync"/>, but a confirmed publish that is queued at once does not
    /// wake the writer; the batch does, once (see <c>AmqpChannel.FlushBatch</c>).
    /// </summary>
    public ValueTask PublishInBatchAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties, bool mandatory, CancellationToken cancellationToken) =>
        PublishTelemetry.IsOn(channel)
            ? PublishTelemetry.PublishAsync(this, channel, exchange, routingKey, body, properties, mandatory, wakeWriter: false, cancellationToken)
            : PublishUntracedAsync(exchange, routingKey, body, properties, mandatory, wakeWriter: false, cancellationToken);

    /// <summary>
    /// An RPC request or reply: as <see cref="PublishAsync"/>, with the correlation-id (and a request's reply-to) taken from
    /// <paramref name="stamp"/> and written straight into the content header (no string, no copy of <paramref name="properties"/>).
    /// </summary>
    public ValueTask PublishStampedAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties, in ReplyStamp stamp, bool mandatory, CancellationToken cancellationToken)
    {
        if (PublishTelemetry.IsOn(channel))
        {
            // The span shows the message's properties, so they are made whole here (a traced publish allocates anyway).
            var stamped = (properties ?? BasicProperties.Empty) with { ReplyTo = stamp.ReplyTo ?? properties?.ReplyTo, CorrelationId = stamp.CorrelationId };
            return PublishTelemetry.PublishAsync(this, channel, exchange, routingKey, body, stamped, mandatory, wakeWriter: true, cancellationToken);
        }

        return PublishUntracedAsync(exchange, routingKey, body, properties, mandatory, wakeWriter: true, cancellationToken, stamp);
    }

    /// <summary>
    /// The publish itself, without spans or measurements. <paramref name="wakeWriter"/> false: a confirmed publish that
    /// is queued at once leaves waking the writer to its caller (a batch).
    /// </summary>
    internal ValueTask PublishUntracedAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties, bool mandatory, bool wakeWriter, CancellationToken cancellationToken,
        in ReplyStamp stamp = default)
    {
        if (!channel.IsOpen)
        {
            // In the returned task, not thrown: a caller collecting publish tasks must not lose the others to one throw.
            return ValueTask.FromException(channel.ClosedError());
        }

        if (body.Length > channel.Session.Options.MaxMessageSize)
        {
            throw new ArgumentException($"The message body is {body.Length} bytes; MaxMessageSize is {channel.Session.Options.MaxMessageSize}.", nameof(body));
        }

        if (channel.Confirms is null)
        {
            // A confirmed publish is proven by its confirm; a plain one only by a later round trip.
            channel.Hygiene.SentWithoutReply();
        }

        var publish = new BasicPublish(exchange, routingKey, mandatory, false);
        // A confirm channel remembers which publish a basic.return can belong to.
        var returnable = mandatory && channel.Confirms is not null ? new MandatoryPublish(exchange, routingKey, properties) : default;
        int frameMax = channel.Session.FrameMaxForBodies;
        if (body.Length >= BodyByReferenceThreshold)
        {
            return PublishByReferenceAsync(publish, body, properties, stamp, returnable, frameMax, cancellationToken);
        }

        byte[] buffer = EncodePublish(publish, properties, stamp, body.Length, body.Span, frameMax, out int n);
        return SendPublishAsync(new OutboundCommand(buffer, n), returnable, wakeWriter, cancellationToken);
    }

    /// <summary>Bodies from this size on are framed by the writer straight from the caller's memory (see <see cref="BodyLease"/>).</summary>
    internal const int BodyByReferenceThreshold = 128 * 1024;

    // A large body is not copied into the command: the writer frames it from the caller's memory, and
    // this call returns only once the writer is done with it (so the caller may reuse its buffer, as
    // with every publish). Without confirms that means: returns when the body is in the socket pipe.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PublishByReferenceAsync(BasicPublish publish, ReadOnlyMemory<byte> body, BasicProperties? properties, ReplyStamp stamp, MandatoryPublish returnable, int frameMax, CancellationToken cancellationToken)
    {
        byte[] buffer = EncodePublish(publish, properties, stamp, body.Length, ReadOnlySpan<byte>.Empty, frameMax, out int n);
        var lease = BodyLease.Rent(body, FrameWriter.MaxBodyPayload(frameMax));
        try
        {
            await SendPublishAsync(new OutboundCommand(buffer, n, lease), returnable, wakeWriter: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Every path releases the command exactly once (written, dropped or refused), which ends the lease.
            await lease.WaitAsync().ConfigureAwait(false);
            lease.Return();
        }
    }

    /// <summary>
    /// Encodes basic.publish and its content header for a body of <paramref name="bodySize"/> bytes into a
    /// rented buffer (reply-to and correlation-id from <paramref name="stamp"/> when it is set), followed by the body frames of <paramref name="inlineBody"/> (empty when the body is
    /// sent by reference).
    /// </summary>
    private byte[] EncodePublish(in BasicPublish publish, BasicProperties? properties, in ReplyStamp stamp, int bodySize, ReadOnlySpan<byte> inlineBody, int frameMax, out int length)
    {
        int size = FrameWriter.MethodFrameSize(publish)
            + FrameWriter.ContentHeaderFrameSize(properties, stamp)
            + FrameWriter.BodyFramesSize(inlineBody.Length, frameMax);
        byte[] buffer = OutboundCommand.Rent(size);
        try
        {
            length = FrameWriter.WriteMethodFrame(buffer, channel.Number, publish);
            length += FrameWriter.WriteContentHeaderFrame(buffer.AsSpan(length), channel.Number, (ulong)bodySize, properties, stamp);
            length += FrameWriter.WriteBodyFrames(buffer.AsSpan(length), channel.Number, inlineBody, frameMax);
            return buffer;
        }
        catch
        {
            BufferPool.Return(buffer);
            throw;
        }
    }

    // Queued at once when nothing is waiting and there is room; otherwise in line behind the publishes that wait.
    private ValueTask SendPublishAsync(OutboundCommand command, in MandatoryPublish returnable, bool wakeWriter, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _waiting) == 0 && !channel.Session.IsBlocked && Volatile.Read(ref _flowResumed) is null)
        {
            if (channel.Confirms is { } confirms)
            {
                if (confirms.TryPublish(channel.Queue, command, returnable, wakeWriter, cancellationToken, out var confirmed))
                {
                    return confirmed;
                }
            }
            else if (channel.Queue.TryEnqueue(command))
            {
                return ValueTask.CompletedTask;
            }
        }

        return PublishInLineAsync(command, returnable, cancellationToken);
    }

    // A publish that cannot be queued at once (no room in the confirm window or the channel's queue, a blocked
    // connection, a paused channel) waits its turn here: publishes that wait go one at a time, in the order they
    // were started, and while any waits, later ones line up behind it. Without the line, publishes started one
    // after another without awaiting each raced for the room that freed and reached the broker out of order.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PublishInLineAsync(OutboundCommand command, MandatoryPublish returnable, CancellationToken cancellationToken)
    {
        // Counted before the first await, so the caller's next publish already sees it.
        Interlocked.Increment(ref _waiting);
        var line = Line;
        bool inTurn = false;
        bool handedOver = false;
        PendingConfirm? pending = null;
        try
        {
            // What was queued before must leave (a batch defers waking the writer): this may wait for its confirms.
            channel.Queue.Schedule();
            await line.EnterAsync(cancellationToken).ConfigureAwait(false);
            inTurn = true;
            // connection.blocked, or the broker's channel.flow(false): wait (bounded by the token) instead of piling up.
            await channel.Session.WaitUnblockedAsync(cancellationToken).ConfigureAwait(false);
            if (Volatile.Read(ref _flowResumed) is { } resumed)
            {
                await resumed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (channel.Confirms is { } confirms)
            {
                pending = await confirms.QueueWhenRoomAsync(channel.Queue, command, returnable, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // The queue's own wait for room: from here on it owns the command, also when it fails.
                handedOver = true;
                await channel.Queue.EnqueueAsync(command, cancellationToken).ConfigureAwait(false);
            }
        }
        catch when (!handedOver)
        {
            // Never queued: the command is still ours.
            command.Release();
            throw;
        }
        finally
        {
            if (inTurn)
            {
                line.Leave();
            }

            Interlocked.Decrement(ref _waiting);
        }

        if (pending is not null)
        {
            await pending.AsValueTask().ConfigureAwait(false);
        }
    }

    // Created by the first publish that has to wait (an idle channel holds none).
    private PublishLine Line => Volatile.Read(ref _line) ?? CreateLine();

    private PublishLine CreateLine()
    {
        var line = new PublishLine();
        return Interlocked.CompareExchange(ref _line, line, null) ?? line;
    }
}
