using System.Runtime.CompilerServices;

namespace Nucleon.Pipes.Rpc;

/// <summary>
/// The per-request step of <see cref="RpcServing.ServeRpcAsync"/>: runs the application's handler and
/// publishes its response to the request's reply-to. Settling is left to the message processor.
/// </summary>
internal sealed class RpcResponder(Func<Message, CancellationToken, ValueTask<AmqpRpcResponse>> handler)
{
    // Pooled builder: one state machine per request would otherwise be allocated whenever the handler awaits.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask HandleAsync(Message request, CancellationToken cancellationToken)
    {
        // Taken before the handler runs: a handler that settles the request itself recycles the message.
        var requestProperties = request.Properties;
        // The reply goes out on the request's own channel: if that is gone, the request cannot be acked either and comes again.
        var channel = request.Delivery?.Channel;
        var response = await handler(request, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(requestProperties.ReplyTo))
        {
            return;
        }

        if (channel is null)
        {
            throw new InvalidOperationException("The RPC request is not attached to a channel.");
        }

        var properties = (response.Properties ?? BasicProperties.Empty) with { CorrelationId = requestProperties.CorrelationId };
        await channel.Publisher.PublishAsync("", requestProperties.ReplyTo, response.Body, properties, mandatory: false, cancellationToken).ConfigureAwait(false);
    }
}
