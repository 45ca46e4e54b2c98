namespace Nucleon.Pipes;

/// <summary>How an <see cref="AmqpRpcClient"/> sends its calls.</summary>
public sealed record RpcClientOptions
{
    /// <summary>Defaults: 30 s timeout, mandatory requests.</summary>
    public static RpcClientOptions Default { get; } = new();

    /// <summary>
    /// How long a call waits for its reply when the call gives no timeout of its own (default 30 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> for no limit). It bounds the whole call, including the wait for
    /// a connection while the client reconnects.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Publish requests as mandatory (default true): a request that no queue receives comes back from the
    /// broker and its call fails at once with <see cref="AmqpMessageReturnedException"/> (312 NO_ROUTE)
    /// instead of waiting for its timeout.
    /// </summary>
    public bool Mandatory { get; init; } = true;
}
