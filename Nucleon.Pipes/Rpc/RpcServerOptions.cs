namespace Nucleon.Pipes;

/// <summary>How <see cref="RpcServing.ServeRpcAsync"/> consumes its request queue.</summary>
public sealed record RpcServerOptions
{
    /// <summary>One handler at a time, prefetch 2, failed requests dead-lettered.</summary>
    public static RpcServerOptions Default { get; } = new();

    /// <summary>Most handlers running at once (default 1).</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>The consumer's prefetch; null (the default) for twice <see cref="Concurrency"/>. It must be at least <see cref="Concurrency"/>.</summary>
    public ushort? Prefetch { get; init; }

    /// <summary>
    /// A request whose handler threw is nacked with this requeue flag: false (the default) dead-letters it
    /// (or the broker drops it), true puts it back in the queue to be handled again.
    /// </summary>
    public bool RequeueOnFailure { get; init; }
}
