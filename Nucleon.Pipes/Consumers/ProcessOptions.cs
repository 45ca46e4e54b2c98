namespace Nucleon.Pipes;

/// <summary>How <see cref="MessageProcessing.ProcessAsync"/> runs handlers and settles their messages.</summary>
public sealed record ProcessOptions
{
    /// <summary>One handler at a time, failures dead-lettered.</summary>
    public static ProcessOptions Default { get; } = new();

    /// <summary>
    /// Most handlers running at once (default 1). A manual-ack consumer needs a
    /// <see cref="ConsumeOptions.Prefetch"/> of at least this (or 0), else only the prefetch can run.
    /// </summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>
    /// A message whose handler threw is nacked with this requeue flag: false (the default) dead-letters
    /// it (or the broker drops it when the queue has no dead-letter exchange), true puts it back in the
    /// queue, to be delivered again, maybe at once.
    /// </summary>
    public bool RequeueOnFailure { get; init; }
}
