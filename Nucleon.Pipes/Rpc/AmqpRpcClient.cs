using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Rpc;

namespace Nucleon.Pipes;

/// <summary>
/// Request/reply over RabbitMQ's direct reply-to (<c>amq.rabbitmq.reply-to</c>): many calls in flight
/// on one channel, each matched to its reply by correlation id. Safe to share between tasks.
/// </summary>
/// <remarks>
/// <para>The client opens its channel on the first call and again after it was lost: calls in flight on
/// a connection that is lost fail with <see cref="AmqpConnectionLostException"/> (their requests may or may not
/// have been handled), and later calls wait for the next connection, bounded by their timeout.</para>
/// <para>A call ends with the reply, or with <see cref="TimeoutException"/>, <see cref="OperationCanceledException"/>,
/// <see cref="AmqpMessageReturnedException"/> (a mandatory request no queue took), or the error that closed the
/// channel. A reply that comes after its call ended is dropped and counted in <see cref="DroppedReplies"/>;
/// it never reaches another call.</para>
/// <para>Before the first call to a named exchange the client checks once (exchange.declare passive, on a
/// channel of its own) that it exists, so a call to a missing exchange fails alone with a 404
/// <see cref="AmqpChannelException"/> instead of closing the channel that every call in flight shares.</para>
/// </remarks>
public sealed class AmqpRpcClient : IAsyncDisposable
{
    // Exchanges known to exist; past this many names nothing more is remembered (each unknown one is checked per call).
    private const int KnownExchangeLimit = 1024;

    private readonly AmqpConnection _connection;
    private readonly RpcClientOptions _options;
    private readonly TimeProvider _time;
    private readonly RpcCallTable _calls;
    private readonly SemaphoreSlim _linkLock = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private readonly ConcurrentDictionary<string, bool> _knownExchanges = new(StringComparer.Ordinal);
    private RpcLink? _link;
    private volatile bool _disposed;

    /// <summary>Creates a client on <paramref name="connection"/>; nothing is sent before the first call.</summary>
    public AmqpRpcClient(AmqpConnection connection, RpcClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= RpcClientOptions.Default;
        CheckTimeout(options.Timeout, nameof(options));
        _connection = connection;
        _options = options;
        _time = connection.Options.TimeProvider;
        _calls = new RpcCallTable(_time);
    }

    /// <summary>Replies that matched no call in flight (late after a timeout or cancellation, or sent twice): dropped.</summary>
    public long DroppedReplies => _calls.DroppedReplies;

    /// <summary>The channel and reply subscription calls go out on now (tests).</summary>
    internal RpcLink? CurrentLink => Volatile.Read(ref _link);

    /// <summary>
    /// Publishes a request to <paramref name="exchange"/> with <paramref name="routingKey"/> and waits for its
    /// reply. The body is copied before the request is sent. <paramref name="properties"/> are sent as given,
    /// except <c>reply-to</c> and <c>correlation-id</c>, which the client sets.
    /// </summary>
    /// <param name="exchange">The exchange ("" for the default exchange, where the routing key is the queue name).</param>
    /// <param name="routingKey">The routing key.</param>
    /// <param name="body">The request body.</param>
    /// <param name="properties">The request's properties (content type, headers, expiration...).</param>
    /// <param name="timeout">How long the whole call may take; null for <see cref="RpcClientOptions.Timeout"/>.</param>
    /// <param name="cancellationToken">Ends the call with <see cref="OperationCanceledException"/> (the request may still be handled).</param>
    /// <returns>The reply; dispose it when done with its body.</returns>
    public ValueTask<AmqpRpcReply> CallAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties = null,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentChecks.ShortString(exchange, nameof(exchange));
        ArgumentChecks.ShortString(routingKey, nameof(routingKey));
        var limit = timeout ?? _options.Timeout;
        CheckTimeout(limit, nameof(timeout));
        ObjectDisposedException.ThrowIf(_disposed, this);
        return CallCoreAsync(exchange, routingKey, body, properties, limit, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<AmqpRpcReply> CallCoreAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        while (true)
        {
            long started = _time.GetTimestamp();
            var link = Volatile.Read(ref _link);
            if (link is not { IsUsable: true } || !IsKnown(exchange))
            {
                link = await PrepareAsync(exchange, timeout, cancellationToken).ConfigureAwait(false);
                timeout = Remaining(timeout, started);
                started = _time.GetTimestamp();
            }

            var call = _calls.Rent(out long version);
            call.Arm(version, link, exchange, routingKey, timeout, cancellationToken);
            // Set when the request was refused before it was sent because its link is gone (connection lost, channel
            // closed): such a call is not "in flight on a lost connection" but a later one, so it waits for the next link.
            Exception? notSent = link.Failure;
            if (notSent is null && call.IsPending(version))
            {
                // (Not pending: the token had fired already; nothing is sent.)
                try
                {
                    // Reply-to and correlation id go straight into the frame: a call allocates no properties of its own.
                    var publish = link.Channel.Core.Publisher.PublishStampedAsync(exchange, routingKey, body, properties,
                        new ReplyStamp(RpcLink.DirectReplyTo, call.Index, version), _options.Mandatory, cancellationToken);
                    if (publish.IsCompletedSuccessfully)
                    {
                        publish.GetAwaiter().GetResult();
                    }
                    else
                    {
                        await PublishSlowAsync(publish, timeout, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is AmqpConnectionLostException or AmqpChannelClosedException)
                {
                    // A channel without confirms fails a publish only by refusing it: the request never left.
                    notSent = ex;
                }
                catch (Exception ex)
                {
                    call.TryFail(version, ex);
                }
            }

            if (notSent is not null && call.TryFail(version, notSent))
            {
                // The link is done for (its channel may not know yet): the next call, and this one, open another.
                link.Fail(notSent);
                try
                {
                    await call.AsValueTask().ConfigureAwait(false);
                }
                catch (Exception ex) when (ReferenceEquals(ex, notSent))
                {
                    // Ending it this way releases the pooled call.
                }

                // Again, within what is left of the timeout.
                timeout = Remaining(timeout, started);
                continue;
            }

            await call.AsValueTask().ConfigureAwait(false);
            return new AmqpRpcReply(call, version);
        }
    }

    // The channel's queue is full or the broker blocks publishing: the call's timeout bounds this wait too.
    // A request still waiting when the call ends may be sent later; its reply is then dropped.
    private static async Task PublishSlowAsync(ValueTask publish, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var sending = publish.AsTask();
        try
        {
            await sending.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch when (!sending.IsCompleted)
        {
            _ = sending.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    private bool IsKnown(string exchange) => exchange.Length == 0 || _knownExchanges.ContainsKey(exchange);

    // The slow path, bounded by the call's timeout and by the client's disposal: a link on the current
    // connection, and a check that the exchange exists.
    private async Task<RpcLink> PrepareAsync(string exchange, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            limit.CancelAfter(timeout);
        }

        try
        {
            var link = await GetLinkAsync(limit.Token).ConfigureAwait(false);
            if (!IsKnown(exchange))
            {
                await using var check = await _connection.RentChannelAsync(cancellationToken: limit.Token).ConfigureAwait(false);
                await check.ExchangeDeclareAsync(exchange, passive: true, cancellationToken: limit.Token).ConfigureAwait(false);
                if (_knownExchanges.Count < KnownExchangeLimit)
                {
                    _knownExchanges.TryAdd(exchange, true);
                }
            }

            return link;
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
            throw new TimeoutException(
                $"The RPC request to exchange \"{exchange}\" could not be sent within {timeout.TotalMilliseconds:0.###} ms: no connection to the broker was available.", ex);
        }
    }

    private async Task<RpcLink> GetLinkAsync(CancellationToken cancellationToken)
    {
        await _linkLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Volatile.Read(ref _link) is { IsUsable: true } current)
            {
                return current;
            }

            // The previous link's own loop fails its calls and closes it when it notices its end.
            var link = await RpcLink.OpenAsync(_connection, _calls, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _link, link);
            return link;
        }
        finally
        {
            _linkLock.Release();
        }
    }

    private TimeSpan Remaining(TimeSpan timeout, long started)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return timeout;
        }

        var left = timeout - _time.GetElapsedTime(started);
        return left > TimeSpan.Zero
            ? left
            : throw new TimeoutException($"The RPC call could not be sent within {timeout.TotalMilliseconds:0.###} ms.");
    }

    private static void CheckTimeout(TimeSpan timeout, string paramName)
    {
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(paramName, timeout, "The timeout must be positive, or Timeout.InfiniteTimeSpan.");
        }
    }

    /// <summary>
    /// Closes the client's channel. Calls still waiting fail with <see cref="ObjectDisposedException"/>; the
    /// connection is not closed.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // Calls still waiting for a connection give up now rather than keep the link lock.
        await _disposing.CancelAsync().ConfigureAwait(false);
        RpcLink? link;
        await _linkLock.WaitAsync().ConfigureAwait(false);
        try
        {
            link = Interlocked.Exchange(ref _link, null);
        }
        finally
        {
            _linkLock.Release();
        }

        if (link is not null)
        {
            await link.CloseAsync(new ObjectDisposedException(nameof(AmqpRpcClient), "The RPC client was disposed while the call waited for its reply.")).ConfigureAwait(false);
        }

        // _disposing stays undisposed: a call racing the disposal may still read its token.
        _calls.Dispose();
    }
}
