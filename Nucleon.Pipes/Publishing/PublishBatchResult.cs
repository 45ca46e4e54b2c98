namespace Nucleon.Pipes;

/// <summary>The outcome of a batch publish: every message is either confirmed or listed in <see cref="Failures"/>.</summary>
public sealed class PublishBatchResult
{
    internal PublishBatchResult(int count, IReadOnlyList<PublishFailure> failures)
    {
        Count = count;
        Failures = failures;
    }

    /// <summary>How many messages the batch had.</summary>
    public int Count { get; }

    /// <summary>How many the broker confirmed.</summary>
    public int Confirmed => Count - Failures.Count;

    /// <summary>True when the broker confirmed every message.</summary>
    public bool AllConfirmed => Failures.Count == 0;

    /// <summary>The messages that were not confirmed, in batch order, each with its index and error.</summary>
    public IReadOnlyList<PublishFailure> Failures { get; }

    /// <summary>The messages that were not confirmed, in batch order (to publish again).</summary>
    public IReadOnlyList<OutgoingMessage> FailedMessages => [.. Failures.Select(f => f.Message)];
}
