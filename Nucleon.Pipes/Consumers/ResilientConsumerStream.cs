using System.Runtime.CompilerServices;
using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Diagnostics.Tracing;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// The stream behind <see cref="AmqpConnection.ConsumeAsync"/>: it keeps yielding across
/// reconnects. When its channel or connection is lost (or the broker cancels the consumer, as it
/// does when a quorum queue's leader moves), it waits for the next connection generation — whose
/// on-connect hooks have run by then — opens a new channel and subscribes again. Messages it
/// yielded before the loss can no longer be acknowledged (their delivery tags died with the
/// channel); the broker redelivers them with <see cref="Message.Redelivered"/> set.
/// Errors while subscribing (404 for a missing queue, 403) end the stream: retrying cannot fix them.
/// </summary>
internal sealed class ResilientConsumerStream : IAsyncEnumerable<Message>, IAsyncEnumerator<Message>, IConsumerMessageStream
{
    private readonly AmqpConnection _connection;
    private readonly string _queue;
    private readonly ConsumeOptions _options;
    private readonly CancellationToken _constructionToken;
    private CancellationToken _token;
    private MessageChannel? _channel;
    private ConsumerStream? _inner;
    private StreamCursor? _cursor;
    private int _enumerated;
    private PendingStep? _step; // the inner stream's pending step, reused

    public ResilientConsumerStream(AmqpConnection connection, string queue, ConsumeOptions options, CancellationToken cancellationToken)
    {
        _connection = connection;
        _queue = queue;
        _options = options;
        _constructionToken = cancellationToken;
    }

    /// <summary>Subscriptions made so far (1 + the number of re-subscriptions).</summary>
    public int Subscriptions { get; private set; }

    private Message _current;

    // Reading it makes the message's process span (if any) the loop's current activity.
    public Message Current
    {
        get
        {
            ProcessTelemetry.Enter(_current);
            return _current;
        }
    }

    public ConsumeOptions Options => _options;

    public bool KeepAutoAckMessages { private get; set; }

    public IAsyncEnumerator<Message> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("This consumer stream is already being enumerated; call ConsumeAsync again for a second subscription.");
        }

        _token = cancellationToken.CanBeCanceled ? cancellationToken : _constructionToken;
        return this;
    }

    // Not async itself: the span of the message the loop leaves ends in the loop's own context (see ConsumerStream).
    public ValueTask<bool> MoveNextAsync()
    {
        EndCurrentProcessing();
        if (_inner is { } inner && !_token.IsCancellationRequested)
        {
            // Subscribed: the inner stream's step is this step, with no async state machine of its own (see PendingStep).
            ValueTask<bool> step;
            try
            {
                step = inner.MoveNextAsync();
            }
            catch (Exception ex)
            {
                return AfterInnerStep(false, ex);
            }

            if (step.IsCompletedSuccessfully)
            {
                return AfterInnerStep(step.Result, null);
            }

            return (_step ??= new PendingStep(AfterInnerStep)).Wait(step);
        }

        return MoveNextCoreAsync(default, hasFirstStep: false);
    }

    // The inner stream's step completed: a message is this stream's too; an end or a failure takes the general path.
    private ValueTask<bool> AfterInnerStep(bool moved, Exception? error)
    {
        if (error is null && moved)
        {
            _current = _inner!.Current;
            return new ValueTask<bool>(true);
        }

        if (error is null)
        {
            return MoveNextCoreAsync(new ValueTask<bool>(false), hasFirstStep: true);
        }

        return MoveNextCoreAsync(ValueTask.FromException<bool>(error), hasFirstStep: true);
    }

    // The general path: subscribing, resubscribing after a loss, ending. firstStep: the inner stream's step, when already taken.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> MoveNextCoreAsync(ValueTask<bool> firstStep, bool hasFirstStep)
    {
        while (true)
        {
            if (!hasFirstStep)
            {
                _token.ThrowIfCancellationRequested();
                if (_inner is null && !await SubscribeAsync().ConfigureAwait(false))
                {
                    return false;
                }
            }

            try
            {
                bool moved;
                if (hasFirstStep)
                {
                    hasFirstStep = false;
                    moved = await firstStep.ConfigureAwait(false);
                }
                else
                {
                    moved = await _inner!.MoveNextAsync().ConfigureAwait(false);
                }

                if (moved)
                {
                    _current = _inner!.Current;
                    return true;
                }
            }
            catch (Exception ex) when (IsRecoverable(ex) && !_connection.Completion.IsCompleted)
            {
                // Lost mid-stream: fall through and subscribe again on the next connection.
            }

            await DropSubscriptionAsync().ConfigureAwait(false);
            if (_connection.Completion.IsCompleted)
            {
                return false;
            }
        }
    }

    private static bool IsRecoverable(Exception ex) =>
        ex is AmqpConnectionLostException or AmqpChannelException or AmqpConsumerCancelledException or AmqpChannelClosedException or AmqpConnectionException;

    private async Task<bool> SubscribeAsync()
    {
        while (true)
        {
            MessageChannel? channel = null;
            try
            {
                channel = await _connection.AllocateChannelAsync(cancellationToken: _token).ConfigureAwait(false);
                // A stream resumes where the last subscription's settled messages end.
                long? resumeAt = _cursor?.ResumeAt;
                var options = resumeAt is { } offset ? _options with { StreamOffset = StreamOffset.At(offset) } : _options;
                var consumer = await channel.Core.Consumers.StartAsync(_queue, options, _token).ConfigureAwait(false);
                if (_options.StreamOffset is not null)
                {
                    consumer.Cursor = _cursor = new StreamCursor(resumeAt);
                }

                _channel = channel;
                _inner = new ConsumerStream(channel.Core, consumer, _token) { KeepAutoAckMessages = KeepAutoAckMessages };
                Subscriptions++;
                if (Subscriptions > 1)
                {
                    Diagnostics.Logging.ConsumerLog.Resubscribed(_connection.Loggers.Consumer, _queue, consumer.Tag, channel.Generation, Subscriptions);
                }

                return true;
            }
            catch (Exception ex) when (ex is AmqpConnectionLostException or AmqpChannelClosedException && !_connection.Completion.IsCompleted)
            {
                // The connection went while subscribing: wait for the next one.
                if (channel is not null)
                {
                    await channel.DisposeAsync().ConfigureAwait(false);
                }
            }
            catch (Exception) when (_connection.Completion.IsCompleted)
            {
                if (channel is not null)
                {
                    await channel.DisposeAsync().ConfigureAwait(false);
                }

                return false;
            }
            catch
            {
                if (channel is not null)
                {
                    await channel.DisposeAsync().ConfigureAwait(false);
                }

                throw;
            }
        }
    }

    private async Task DropSubscriptionAsync()
    {
        if (_inner is { } inner)
        {
            _inner = null;
            await inner.DisposeAsync().ConfigureAwait(false);
        }

        if (_channel is { } channel)
        {
            _channel = null;
            await channel.DisposeAsync().ConfigureAwait(false);
        }
    }

    // Not async itself: leaving the loop ends the last message's span in the loop's context.
    public ValueTask DisposeAsync()
    {
        EndCurrentProcessing();
        return new ValueTask(DropSubscriptionAsync());
    }

    private void EndCurrentProcessing()
    {
        if (!KeepAutoAckMessages && _current.IsValid)
        {
            ProcessTelemetry.End(_current.Delivery!);
        }
    }
}
