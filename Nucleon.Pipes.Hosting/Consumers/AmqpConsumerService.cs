using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nucleon.Pipes.Hosting.Connections;

namespace Nucleon.Pipes.Hosting.Consumers;

/// <summary>
/// A hosted consumer: one connection-level consumer (<see cref="AmqpConnection.ConsumeAsync"/>, so it
/// survives reconnects) feeding at most <see cref="AmqpConsumerOptions.Concurrency"/> handlers at once.
/// A message is taken from the stream only when a handler slot is free, and is detached before the
/// stream moves on (the stream recycles the current delivery on its next step).
/// Stop: no more messages are taken; handlers in flight finish (until the host's shutdown token fires,
/// which is also their token) and are settled on the still-open channel; then the subscription ends,
/// which hands prefetched, unhandled messages back to the queue and closes the channel.
/// </summary>
internal sealed class AmqpConsumerService<THandler> : IHostedService
    where THandler : class, IAmqpMessageHandler
{
    private readonly string _queue;
    private readonly AmqpConsumerOptions _options;
    private readonly AmqpConnectionHost _host;
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly InFlightCounter _handlers = new();
    private readonly CancellationTokenSource _stopTaking = new();
    private readonly CancellationTokenSource _abortHandlers = new();
    private readonly object _lock = new();
    private IAsyncEnumerator<Message>? _stream;
    private Task _loop = Task.CompletedTask;
    private Task? _stop;

    public AmqpConsumerService(string queue, AmqpConsumerOptions options, AmqpConnectionHost host, IServiceScopeFactory scopes, ILogger logger)
    {
        _queue = queue;
        _options = options;
        _host = host;
        _scopes = scopes;
        _logger = logger;
        _slots = new SemaphoreSlim(options.Concurrency, options.Concurrency);
        host.AddConsumer(this);
    }

    /// <summary>Handlers running now (for tests and diagnostics).</summary>
    public int InFlight => _handlers.Count;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(ConsumeLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task ConsumeLoopAsync()
    {
        var stop = _stopTaking.Token;
        try
        {
            var consumeOptions = new ConsumeOptions { Prefetch = _options.EffectivePrefetch, Arguments = _options.Arguments };
            _stream = _host.Connection.ConsumeAsync(_queue, consumeOptions).GetAsyncEnumerator(stop);
            while (true)
            {
                await _slots.WaitAsync(stop).ConfigureAwait(false);
                bool received;
                try
                {
                    received = await _stream.MoveNextAsync().ConfigureAwait(false);
                }
                catch
                {
                    _slots.Release();
                    throw;
                }

                if (!received)
                {
                    _slots.Release();
                    HostingLog.ConsumerEnded(_logger, _queue);
                    return;
                }

                var message = _stream.Current.Detach();
                _handlers.Enter();
                _ = Task.Run(() => HandleAsync(message), CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // E.g. 404: the queue does not exist. Retrying cannot fix it; the host keeps running.
            HostingLog.ConsumerFailed(_logger, ex, _queue, ex.Message);
        }
    }

    /// <summary>Runs one handler in its own DI scope and settles its message. Never throws.</summary>
    private async Task HandleAsync(Message message)
    {
        try
        {
            var context = new AmqpMessageContext(message, _queue);
            Exception? failure = null;
            try
            {
                var scope = _scopes.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    var handler = scope.ServiceProvider.GetRequiredService<THandler>();
                    await handler.HandleAsync(context, _abortHandlers.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            await SettleAsync(context, failure).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
            _handlers.Exit();
        }
    }

    private async Task SettleAsync(AmqpMessageContext context, Exception? failure)
    {
        if (context.IsSettled)
        {
            return;
        }

        var message = context.Message;
        try
        {
            if (failure is null)
            {
                await message.AckAsync().ConfigureAwait(false);
            }
            else if (failure is OperationCanceledException && _abortHandlers.IsCancellationRequested)
            {
                // Cut short by the shutdown timeout: not the message's fault, so it goes back to the queue.
                await message.NackAsync(requeue: true).ConfigureAwait(false);
            }
            else
            {
                bool requeue = SettlementPolicy.RequeueOnFailure(_options.FailurePolicy, _options.MaxRedeliveries, message.Redelivered, message.Properties.Headers);
                HostingLog.HandlerFailed(_logger, failure, _queue, typeof(THandler).Name, message.DeliveryTag, requeue);
                await message.NackAsync(requeue: requeue).ConfigureAwait(false);
            }
        }
        catch (AmqpException ex)
        {
            // The channel or connection is gone: the broker redelivers the message.
            HostingLog.SettleFailed(_logger, ex, _queue, message.DeliveryTag);
        }
        catch (InvalidOperationException)
        {
            // The handler settled it through Message itself: its decision stands.
        }
    }

    /// <summary>Idempotent (the host and the connection's own stop both call it); the first token bounds the shutdown.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _stop ??= StopCoreAsync(cancellationToken);
        }
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        using var abort = cancellationToken.Register(() => _abortHandlers.Cancel());
        await _stopTaking.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        try
        {
            await _handlers.WaitIdleAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            HostingLog.HandlersCutShort(_logger, _queue, _handlers.Count);
        }

        if (_stream is { } stream)
        {
            try
            {
                // basic.cancel, unread prefetched messages rejected with requeue, channel closed.
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AmqpException or OperationCanceledException)
            {
                HostingLog.CancelUnclean(_logger, ex, _queue);
            }
        }
    }
}
