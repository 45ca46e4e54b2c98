using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Rpc;

namespace Nucleon.Pipes;

/// <summary>The server side of RPC: answers the requests of a queue.</summary>
public static class RpcServing
{
    /// <summary>
    /// Consumes <paramref name="queue"/> across reconnects and answers each request: runs
    /// <paramref name="handler"/> (at most <see cref="RpcServerOptions.Concurrency"/> at once) and publishes its
    /// response to the request's <c>reply-to</c> (through the default exchange, on the request's channel) with
    /// the request's <c>correlation-id</c>, then acks the request. Runs until <paramref name="cancellationToken"/>
    /// fires (then throws <see cref="OperationCanceledException"/>), the connection is closed, or the
    /// subscription fails for good (e.g. 404: the queue does not exist).
    /// </summary>
    /// <remarks>
    /// Settlement is that of <see cref="MessageProcessing.ProcessAsync"/>: a handler that throws sends no reply,
    /// its request is nacked (requeued only with <see cref="RpcServerOptions.RequeueOnFailure"/>) and the exception
    /// goes to the connection's <c>OnError</c> handlers as an <see cref="AmqpCallbackException"/>; the caller's call
    /// then times out. A handler that wants the caller to know should return an error response instead. A request
    /// without <c>reply-to</c> is handled and acked, and no reply is sent. The reply is sent before the ack, so
    /// a request whose ack is lost with the connection may be handled, and answered, twice.
    /// </remarks>
    public static Task ServeRpcAsync(this AmqpConnection connection, string queue, Func<Message, CancellationToken, ValueTask<AmqpRpcResponse>> handler,
        RpcServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentChecks.ShortString(queue, nameof(queue));
        ArgumentNullException.ThrowIfNull(handler);
        options ??= RpcServerOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1, nameof(options) + ".Concurrency");
        ushort prefetch = options.Prefetch ?? (ushort)Math.Min(ushort.MaxValue, 2 * options.Concurrency);
        var responder = new RpcResponder(handler);
        return connection.ConsumeAsync(queue, new ConsumeOptions { Prefetch = prefetch, KeepRawProperties = true }, cancellationToken)
            .ProcessAsync(responder.HandleAsync, new ProcessOptions { Concurrency = options.Concurrency, RequeueOnFailure = options.RequeueOnFailure }, cancellationToken);
    }
}
