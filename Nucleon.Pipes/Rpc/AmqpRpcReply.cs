using Nucleon.Pipes.Rpc;

namespace Nucleon.Pipes;

/// <summary>
/// The reply to an <see cref="AmqpRpcClient.CallAsync"/>. Its body lives in a buffer of the client's
/// pool: read it, then dispose the reply (<c>using var reply = await rpc.CallAsync(...)</c>) so the next
/// call reuses the buffer. After disposal every member throws <see cref="InvalidOperationException"/>
/// instead of showing another call's reply; a <see cref="Body"/> taken earlier must not be read after
/// disposal. A reply that is never disposed costs the pool one object, nothing more.
/// </summary>
public readonly struct AmqpRpcReply : IDisposable
{
    private readonly PendingCall? _call;
    private readonly long _version;

    internal AmqpRpcReply(PendingCall call, long version)
    {
        _call = call;
        _version = version;
    }

    /// <summary>The reply body (valid until the reply is disposed).</summary>
    public ReadOnlyMemory<byte> Body => Live.Body;

    /// <summary>The reply's properties as the server sent them (<see cref="BasicProperties.CorrelationId"/> is the request's).</summary>
    public BasicProperties Properties => Live.Properties;

    /// <summary>True until the reply is disposed.</summary>
    public bool IsValid => _call is not null && _call.HoldsReply(_version);

    private PendingCall Live =>
        _call is not null && _call.HoldsReply(_version)
            ? _call
            : throw new InvalidOperationException(_call is null
                ? "This AmqpRpcReply is empty (default value)."
                : "This AmqpRpcReply was disposed; its buffer serves another call now. Copy what you need before disposing.");

    /// <summary>Gives the reply's buffer back to the client's pool. Disposing twice does nothing.</summary>
    public void Dispose() => _call?.Release(_version);
}
