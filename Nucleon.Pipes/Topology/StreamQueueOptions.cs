namespace Nucleon.Pipes;

/// <summary>
/// Typed arguments of a stream queue (<c>x-queue-type: stream</c>), for
/// <see cref="QueueDeclareExtensions.QueueDeclareStreamAsync"/>. Unset properties are left to the broker.
/// </summary>
public sealed record StreamQueueOptions
{
    /// <summary>Older segments are deleted once the stream holds more than this many bytes (<c>x-max-length-bytes</c>).</summary>
    public long? MaxLengthBytes { get; init; }

    /// <summary>Segments whose messages are all older than this are deleted (<c>x-max-age</c>, whole seconds).</summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>Size of one segment file on disk (<c>x-stream-max-segment-size-bytes</c>).</summary>
    public long? MaxSegmentSizeBytes { get; init; }

    /// <summary>How many cluster nodes hold a replica at first (<c>x-initial-cluster-size</c>).</summary>
    public int? InitialClusterSize { get; init; }

    /// <summary>The queue.declare arguments these options stand for.</summary>
    public Dictionary<string, object?> ToArguments()
    {
        var arguments = new Dictionary<string, object?> { ["x-queue-type"] = "stream" };
        QuorumQueueOptions.Put(arguments, "x-max-length-bytes", MaxLengthBytes);
        if (MaxAge is { } age)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(age, TimeSpan.FromSeconds(1), nameof(MaxAge));
            arguments["x-max-age"] = $"{(long)age.TotalSeconds}s";
        }

        QuorumQueueOptions.Put(arguments, "x-stream-max-segment-size-bytes", MaxSegmentSizeBytes);
        QuorumQueueOptions.Put(arguments, "x-initial-cluster-size", InitialClusterSize);
        return arguments;
    }
}
