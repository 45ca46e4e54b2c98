using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes;

/// <summary>A running consumer started with <see cref="AmqpChannel.BasicConsumeAsync"/>.</summary>
public sealed class AmqpConsumer : IAsyncDisposable
{
    private readonly ChannelCore _channel;
    private readonly ConsumerState _state;
    private readonly ConsumerStream _stream;

    internal AmqpConsumer(ChannelCore channel, ConsumerState state)
    {
        _channel = channel;
        _state = state;
        _stream = new ConsumerStream(channel, state);
    }

    /// <summary>The consumer tag.</summary>
    public string ConsumerTag => _state.Tag;

    /// <summary>The deliveries, in order. Can be enumerated once.</summary>
    public IAsyncEnumerable<Message> Messages => _stream;

    /// <summary>
    /// Cancels the consumer (basic.cancel); unread deliveries go back to the queue. If
    /// <paramref name="cancellationToken"/> fires first, only the wait ends: the cancel still completes
    /// in the background (the consumer is never left half cancelled).
    /// </summary>
    public Task CancelAsync(CancellationToken cancellationToken = default) =>
        _channel.Consumers.StopAsync(_state, drain: false, handBack: true).WaitAsync(cancellationToken);

    /// <summary>Same as <see cref="CancelAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await CancelAsync().ConfigureAwait(false);
}
