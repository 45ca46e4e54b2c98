using Microsoft.Extensions.Logging;

namespace Nucleon.Pipes.Diagnostics.Logging;

/// <summary>Events of the <c>Nucleon.Pipes.Consumer</c> category, EventIds 3000–3999.</summary>
internal static partial class ConsumerLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Debug,
        Message = "Consumer {ConsumerTag} subscribed to queue {Queue} on channel {Channel} of connection generation {Generation} (prefetch {Prefetch}, auto-ack {AutoAck})")]
    public static partial void Subscribed(ILogger logger, string consumerTag, string queue, ushort channel, int generation, ushort prefetch, bool autoAck);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information,
        Message = "Consumer of queue {Queue} subscribed again as {ConsumerTag} on connection generation {Generation} (subscription {Subscription})")]
    public static partial void Resubscribed(ILogger logger, string queue, string consumerTag, int generation, int subscription);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning,
        Message = "The broker cancelled consumer {ConsumerTag} of queue {Queue} on channel {Channel} of connection generation {Generation}")]
    public static partial void CancelledByBroker(ILogger logger, string consumerTag, string queue, ushort channel, int generation);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning,
        Message = "Consumer {ConsumerTag} of queue {Queue} was cancelled: its consume loop fell behind with {Buffered} deliveries buffered")]
    public static partial void Overflowed(ILogger logger, string consumerTag, string queue, int buffered);
}
