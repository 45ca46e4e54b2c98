using System.Runtime.CompilerServices;
using Nucleon.Pipes.Diagnostics.Tracing;

namespace Nucleon.Pipes.Consumers;

/// <summary>
/// The engine behind <see cref="MessageProcessing.ProcessAsync"/>: a fixed set of workers take turns
/// (through a <see cref="WorkerGate"/>) to read the next message from the one enumerator, then run the
/// handler and settle outside the gate. Nothing is allocated per message: the workers, their tickets
/// and their async state live for the whole run.
/// </summary>
internal sealed class MessageProcessor
{
    private readonly IAsyncEnumerable<Message> _messages;
    private readonly Func<Message, CancellationToken, ValueTask> _handler;
    private readonly ProcessOptions _options;
    private readonly CancellationToken _token;
    private readonly WorkerGate _gate;
    private readonly bool _ownLifetime;
    private IAsyncEnumerator<Message>? _source;
    private bool _done; // under the gate
    private Exception? _failure; // under the gate
    private PendingStep? _step; // under the gate: the one step being awaited

    public MessageProcessor(IAsyncEnumerable<Message> messages, Func<Message, CancellationToken, ValueTask> handler, ProcessOptions options, CancellationToken token)
    {
        _messages = messages;
        _handler = handler;
        _options = options;
        _token = token;
        _gate = new WorkerGate(options.Concurrency);
        _ownLifetime = messages is IConsumerMessageStream;
    }

    public async Task RunAsync()
    {
        var source = _source = _messages.GetAsyncEnumerator(_token);
        if (source is IConsumerMessageStream own)
        {
            // Auto-ack messages must outlive the next read: another worker reads while this one handles.
            own.KeepAutoAckMessages = true;
        }

        try
        {
            var workers = new Task[_options.Concurrency];
            for (int i = 0; i < workers.Length; i++)
            {
                workers[i] = WorkAsync(new WorkerGate.Ticket());
            }

            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        finally
        {
            // Only now, with every handler settled on the still-open channel: cancel the subscription,
            // hand back what was prefetched and not handled.
            await source.DisposeAsync().ConfigureAwait(false);
        }

        if (_failure is { } failure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    private async Task WorkAsync(WorkerGate.Ticket ticket)
    {
        // Off the caller's thread: a handler that blocks must not block ProcessAsync's return.
        await Task.Yield();
        while (true)
        {
            await _gate.EnterAsync(ticket).ConfigureAwait(false);
            var outer = System.Diagnostics.Activity.Current;
            Message message;
            try
            {
                // Awaited here, in the worker's one long-lived state machine: a helper method would box its own per wait.
                if (_done || !await NextOrEnd().ConfigureAwait(false))
                {
                    return;
                }

                message = _source!.Current;
                if (!_ownLifetime && message.IsAutoAck)
                {
                    // A stream of unknown make may recycle it on its next step, which another worker takes now.
                    message = message.Detach();
                }
            }
            finally
            {
                _gate.Exit();
            }

            // Taken now: once the handler settles the message, its delivery may already carry another one.
            var channel = message.Delivery?.Channel;
            ulong tag = message.DeliveryTag;
            Exception? error = null;
            try
            {
                await _handler(message, _token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                error = ex;
            }

            if (error is not null && !(error is OperationCanceledException && _token.IsCancellationRequested))
            {
                channel?.Session.Owner.ReportCallbackFailure($"message handler (delivery {tag} on channel {channel.Number})", error);
            }

            if (error is not null)
            {
                ProcessTelemetry.Failed(message, error);
            }

            await SettleAsync(message, error).ConfigureAwait(false);
            if (!ReferenceEquals(System.Diagnostics.Activity.Current, outer))
            {
                // The message's span was this worker's current activity (Current made it so); the settlement
                // ended it in SettleAsync's own context, so the worker restores its own here.
                System.Diagnostics.Activity.Current = outer;
            }
        }
    }

    // Under the gate: the stream's next step. A failure (or the shutdown) ends the run (see Record).
    private ValueTask<bool> NextOrEnd()
    {
        try
        {
            // A stream hands out what it holds even after its token fired; the shutdown takes nothing more.
            _token.ThrowIfCancellationRequested();
            var step = _source!.MoveNextAsync();
            if (step.IsCompletedSuccessfully)
            {
                return new ValueTask<bool>(Record(step.Result, null));
            }

            // Not at once: waited for without letting a failure escape (it ends the run).
            return (_step ??= new PendingStep((moved, error) => new ValueTask<bool>(Record(moved, error)))).Wait(step);
        }
        catch (Exception ex)
        {
            _failure = ex;
            _done = true;
            return new ValueTask<bool>(false);
        }
    }

    private bool Record(bool moved, Exception? error)
    {
        if (error is null && moved)
        {
            return true;
        }

        _failure ??= error;
        _done = true;
        return false;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SettleAsync(Message message, Exception? error)
    {
        // Not valid any more, or settled: the handler settled it itself (its decision stands).
        if (!message.IsValid || message.Delivery!.Settled)
        {
            return;
        }

        if (message.Delivery.AutoAck)
        {
            ConsumerStream.Release(message);
            return;
        }

        try
        {
            if (error is null)
            {
                await message.AckAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                // Cut short by the shutdown: not the message's fault, so it goes back to the queue.
                bool requeue = _options.RequeueOnFailure || (error is OperationCanceledException && _token.IsCancellationRequested);
                await message.NackAsync(requeue: requeue, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (AmqpException)
        {
            // The channel or connection is gone: the broker redelivers the message.
        }
        catch (InvalidOperationException)
        {
            // Settled meanwhile by something the handler started (or by a multiple ack).
        }
    }
}
