using System.Buffers;
using System.Runtime.CompilerServices;
using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Rpc;

/// <summary>
/// The per-request step of <see cref="RpcServing.ServeRpcAsync"/>: runs the application's handler and
/// publishes its response to the request's reply-to, with the request's correlation id. Settling is left to the
/// message processor. A request whose properties arrived without headers is read from its property bytes (the consumer keeps
/// them as received): its correlation id goes into the reply as the bytes
/// it came with and its reply-to name is looked up (<see cref="ReplyToNames"/>), so answering allocates nothing.
/// </summary>
internal sealed class RpcResponder(Func<Message, CancellationToken, ValueTask<AmqpRpcResponse>> handler)
{
    private readonly ReplyToNames _replyToNames = new();

    // Pooled builder: one state machine per request would otherwise be allocated whenever the handler awaits.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask HandleAsync(Message request, CancellationToken cancellationToken)
    {
        // The reply goes out on the request's own channel: if that is gone, the request cannot be acked either and comes again.
        var channel = request.Delivery?.Channel;
        // Taken before the handler runs: a handler that settles the request itself recycles the message.
        string? replyTo = TakeAddress(request, out byte[]? correlationId, out int correlationIdLength);
        try
        {
            var response = await handler(request, cancellationToken).ConfigureAwait(false);
            if (replyTo is null)
            {
                return;
            }

            if (channel is null)
            {
                throw new InvalidOperationException("The RPC request is not attached to a channel.");
            }

            if (correlationId is null)
            {
                // A request without a correlation id gets a reply without one, whatever the handler's properties say.
                var properties = response.Properties is { CorrelationId: not null } own ? own with { CorrelationId = null } : response.Properties;
                await channel.Publisher.PublishAsync("", replyTo, response.Body, properties, mandatory: false, cancellationToken).ConfigureAwait(false);
                return;
            }

            // The stamp's bytes are encoded before the publish first returns; the buffer goes back only after it completed.
            var stamp = ReplyStamp.ForReply(correlationId.AsMemory(0, correlationIdLength));
            await channel.Publisher.PublishStampedAsync("", replyTo, response.Body, response.Properties, stamp, mandatory: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (correlationId is not null)
            {
                ArrayPool<byte>.Shared.Return(correlationId);
            }
        }
    }

    // The request's reply-to (null: no reply is wanted) and its correlation id, copied into a rented buffer (null: it has none).
    private string? TakeAddress(Message request, out byte[]? correlationId, out int correlationIdLength)
    {
        correlationId = null;
        correlationIdLength = 0;
        var raw = request.RawProperties;
        if (!raw.IsEmpty && BasicPropertiesCodec.TryWalkPlain(raw, out ushort flags, out var id, out var to))
        {
            if (BasicPropertiesCodec.CarriesCorrelationId(flags))
            {
                correlationId = ArrayPool<byte>.Shared.Rent(Math.Max(1, id.Length));
                id.CopyTo(correlationId);
                correlationIdLength = id.Length;
            }

            return to.IsEmpty ? null : _replyToNames.Get(to);
        }

        // Decoded on arrival (it carries headers): the strings exist already.
        var properties = request.Properties;
        if (properties.CorrelationId is { } text)
        {
            correlationId = ArrayPool<byte>.Shared.Rent(Math.Max(1, System.Text.Encoding.UTF8.GetMaxByteCount(text.Length)));
            correlationIdLength = System.Text.Encoding.UTF8.GetBytes(text, correlationId);
        }

        return string.IsNullOrEmpty(properties.ReplyTo) ? null : properties.ReplyTo;
    }
}
