namespace Nucleon.Pipes.Hosting;

/// <summary>How a hosted consumer (<c>AddAmqpConsumer&lt;THandler&gt;</c>) subscribes and settles.</summary>
public sealed class AmqpConsumerOptions
{
    /// <summary>The connection (as named in <c>AddAmqpConnection</c>) to consume on. Default <see cref="AmqpHosting.DefaultConnectionName"/>.</summary>
    public string ConnectionName { get; set; } = AmqpHosting.DefaultConnectionName;

    /// <summary>How many messages are handled at once on the consumer's one channel (never more). Default 1.</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>
    /// Most unacknowledged messages the broker sends (basic.qos). 0 (default) means twice
    /// <see cref="Concurrency"/>; a value below <see cref="Concurrency"/> is raised to it.
    /// </summary>
    public int Prefetch { get; set; }

    /// <summary>What happens to a message whose handler threw. Default <see cref="AmqpFailurePolicy.DeadLetter"/>.</summary>
    public AmqpFailurePolicy FailurePolicy { get; set; } = AmqpFailurePolicy.DeadLetter;

    /// <summary>With <see cref="AmqpFailurePolicy.Requeue"/>: how many earlier deliveries a message may have had and still be requeued. Default 5.</summary>
    public int MaxRedeliveries { get; set; } = 5;

    /// <summary>Extra basic.consume arguments (e.g. <c>x-priority</c>).</summary>
    public IDictionary<string, object?>? Arguments { get; set; }

    /// <summary>The prefetch sent to the broker: at least <see cref="Concurrency"/>.</summary>
    internal ushort EffectivePrefetch => (ushort)Math.Min(ushort.MaxValue, Prefetch == 0 ? 2 * Concurrency : Math.Max(Prefetch, Concurrency));

    internal void Validate(string queue)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentException.ThrowIfNullOrEmpty(ConnectionName);
        ArgumentOutOfRangeException.ThrowIfLessThan(Concurrency, 1, nameof(Concurrency));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Concurrency, ushort.MaxValue, nameof(Concurrency));
        ArgumentOutOfRangeException.ThrowIfNegative(Prefetch, nameof(Prefetch));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Prefetch, ushort.MaxValue, nameof(Prefetch));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRedeliveries, nameof(MaxRedeliveries));
        if (!Enum.IsDefined(FailurePolicy))
        {
            throw new ArgumentException($"Unknown failure policy {FailurePolicy}.", nameof(queue));
        }
    }
}
