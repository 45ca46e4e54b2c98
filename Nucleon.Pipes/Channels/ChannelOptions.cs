namespace Nucleon.Pipes;

/// <summary>How a channel is set up when it is rented or allocated.</summary>
public sealed record ChannelOptions
{
    /// <summary>Plain channel, no confirms.</summary>
    public static ChannelOptions Default { get; } = new();

    /// <summary>
    /// Put the channel in publisher-confirm mode (confirm.select): every publish completes only when
    /// the broker has taken responsibility for the message, and fails on nack or return.
    /// </summary>
    public bool PublisherConfirms { get; init; }
}
