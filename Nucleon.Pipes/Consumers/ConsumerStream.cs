using System.Runtime.CompilerServices;
using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Diagnostics.Tracing;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// The <see cref="IAsyncEnumerable{T}"/> behind <c>MessageChannel.ConsumeAsync</c>. The subscription
/// (basic.qos + basic.consume) starts on the first <c>MoveNextAsync</c>; leaving the loop cancels it and
/// hands unread deliveries back to the queue. One enumeration per stream: a second concurrent reader
/// gets an exception rather than a share of the messages.
/// Lifetime: a manual-ack delivery is recycled when the application settles it (see <see cref="Message"/>),
/// never by the loop; an auto-ack one when the loop moves on, unless <see cref="KeepAutoAckMessages"/>
/// hands that job to the caller. Once the channel is no longer open, manual-ack deliveries still
/// buffered are dropped, not handed out: they can no longer be acked, and the broker redelivers them.
/// </summary>
internal sealed class ConsumerStream : IAsyncEnumerable<Message>, IAsyncEnumerator<Message>, IConsumerMessageStream
{
    private readonly ChannelCore _channel;
    private readonly string _queue;
    private readonly ConsumeOptions _options;
    private readonly CancellationToken _constructionToken;
    private CancellationToken _token;
    private ConsumerState? _consumer;
    private Delivery? _current;
    private Message _currentMessage;
    private HandedOutDeliveries? _handedOut;
    private int _enumerated;
    private bool _finished;
    private bool _claimed;
    private PendingStep? _step; // a wait of the running loop, reused

    public ConsumerStream(ChannelCore channel, string queue, ConsumeOptions options, CancellationToken cancellationToken)
    {
        _channel = channel;
        _queue = queue;
        _options = options;
        _constructionToken = cancellationToken;
    }

    /// <summary>A stream over a consumer that is already running.</summary>
    public ConsumerStream(ChannelCore channel, ConsumerState running, CancellationToken cancellationToken = default)
    {
        _channel = channel;
        _queue = string.Empty;
        _options = ConsumeOptions.Default;
        _consumer = running;
        _constructionToken = cancellationToken;
        _token = cancellationToken;
    }

    // Captured when the loop moved here: a manual-ack delivery may be settled, recycled and reused for a
    // later message while this stream still points at it, and a Message made now would show that one.
    // Reading it makes the message's process span (if any) the loop's current activity.
    public Message Current
    {
        get
        {
            ProcessTelemetry.Enter(_currentMessage);
            return _currentMessage;
        }
    }

    /// <summary>The caller recycles auto-ack messages itself (<see cref="Release"/>) instead of the loop's next step.</summary>
    public bool KeepAutoAckMessages { get; set; }

    public ConsumeOptions Options => _options;

    /// <summary>The consumer, once subscribed.</summary>
    internal ConsumerState? Consumer => _consumer;

    public IAsyncEnumerator<Message> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("This consumer stream is already being enumerated; call ConsumeAsync again for a second subscription.");
        }

        _token = cancellationToken.CanBeCanceled ? cancellationToken : _constructionToken;
        return this;
    }

    // Not async itself: the process span of the message the loop leaves ends here, in the loop's own context,
    // so the loop's current activity is restored (an async method's changes to it do not reach its caller).
    public ValueTask<bool> MoveNextAsync()
    {
        EndCurrentProcessing();
        if (_claimed && !_finished)
        {
            // The loop is running: a message in the inbox is handed out at once, and a wait for the next one
            // needs no async state machine either (see PendingStep).
            ReleaseCurrent();
            if (TryTake())
            {
                return new ValueTask<bool>(true);
            }

            if (!_finished)
            {
                ValueTask<bool> wait;
                try
                {
                    wait = _consumer!.Inbox.WaitToReadAsync(_token);
                }
                catch (Exception ex)
                {
                    return ValueTask.FromException<bool>(ex);
                }

                return (_step ??= new PendingStep(AfterWait)).Wait(wait);
            }
        }

        return MoveNextCoreAsync();
    }

    // The inbox wait of a running loop completed: a message is handed out, anything else takes the general path.
    private ValueTask<bool> AfterWait(bool ready, Exception? error)
    {
        if (error is not null)
        {
            return ValueTask.FromException<bool>(error);
        }

        return ready && TryTake() ? new ValueTask<bool>(true) : MoveNextCoreAsync();
    }

    // The loop moved on: the message's processing is over unless it was settled already or outlives the step.
    private void EndCurrentProcessing()
    {
        if (_current is { } current && !KeepAutoAckMessages && _currentMessage.IsValid)
        {
            ProcessTelemetry.End(current);
        }
    }

    // Pooled builder: a consume loop that waits for each message would otherwise box its state per wait.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> MoveNextCoreAsync()
    {
        ReleaseCurrent();

        if (_finished)
        {
            return false;
        }

        if (_consumer is null)
        {
            _consumer = await _channel.Consumers.StartAsync(_queue, _options, _token).ConfigureAwait(false);
        }

        if (!_claimed)
        {
            _claimed = true;
            if (!_consumer.TryClaimReader())
            {
                // Cancelled before this loop started: the cancel handed the unread deliveries back.
                _finished = true;
                return false;
            }
        }

        var inbox = _consumer.Inbox;
        while (true)
        {
            if (TryTake())
            {
                return true;
            }

            if (_finished)
            {
                return false;
            }

            if (!await inbox.WaitToReadAsync(_token).ConfigureAwait(false))
            {
                _finished = true;
                // Completed with an error (channel closed, connection lost, server cancel) surfaces here.
                if (inbox.Error is { } error)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
                }

                return false;
            }
        }
    }

    // One step of a running loop that never waits: true when a message was handed out; false when the
    // inbox is empty, or when the loop has ended (then _finished is set).
    private bool TryTake()
    {
        var consumer = _consumer!;
        if (consumer.HandBackUnread)
        {
            // Cancelled by the application (maybe from another thread): this loop, the inbox's only
            // reader, gives back what it has not read, and ends.
            _channel.Consumers.HandBackUnread(consumer);
            _finished = true;
            return false;
        }

        if (!consumer.AutoAck)
        {
            _handedOut?.Reclaim(_channel.SettledThrough);
            if (!_channel.IsOpen)
            {
                // The channel or connection is gone: buffered deliveries can no longer be acked and the
                // broker redelivers them, so handing them out would only make the work run twice.
                _channel.Consumers.HandBackUnread(consumer);
            }
        }

        if (!consumer.Inbox.TryRead(out var delivery))
        {
            return false;
        }

        _current = delivery;
        _currentMessage = new Message(delivery);
        ProcessTelemetry.Begin(delivery, consumer);
        if (!delivery.AutoAck && delivery.Owner is not null)
        {
            (_handedOut ??= new HandedOutDeliveries(consumer.Inbox.Capacity)).Add(delivery);
        }

        consumer.Cursor?.Yielded(delivery);
        return true;
    }

    /// <summary>Recycles an auto-ack message handed out with <see cref="KeepAutoAckMessages"/> once its handler is done.</summary>
    public static void Release(Message message)
    {
        if (message.Delivery is { AutoAck: true, Owner: { } owner } delivery && message.IsValid)
        {
            ProcessTelemetry.End(delivery);
            owner.Recycle(delivery);
        }
    }

    // Manual-ack deliveries live until they are settled; auto-ack ones until the loop moves on.
    private void ReleaseCurrent()
    {
        var previous = _current;
        _current = null;
        _currentMessage = default;
        if (previous is { AutoAck: true, Owner: { } owner } && !KeepAutoAckMessages)
        {
            owner.Recycle(previous);
        }
    }

    // Not async itself, like MoveNextAsync: leaving the loop ends the last message's span in the loop's context.
    public ValueTask DisposeAsync()
    {
        EndCurrentProcessing();
        return DisposeCoreAsync();
    }

    private async ValueTask DisposeCoreAsync()
    {
        ReleaseCurrent();

        if (_consumer is { } consumer && !_finished)
        {
            _finished = true;
            // This loop is the inbox's reader (or nobody is), so it may hand back what it did not read.
            await _channel.Consumers.StopAsync(consumer, drain: _claimed).ConfigureAwait(false);
        }
    }
}
