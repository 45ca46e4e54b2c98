using Microsoft.Extensions.Logging;

namespace Nucleon.Pipes.Diagnostics.Logging;

/// <summary>
/// Events of the <c>Nucleon.Pipes.Publisher</c> category, EventIds 5000–5999. Nacks and returns are per message,
/// so they are Debug; nothing is written for a publish or a confirm that went well.
/// </summary>
internal static partial class PublisherLog
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Debug,
        Message = "The broker nacked publish {DeliveryTag} (multiple {Multiple}) on channel {Channel}")]
    public static partial void Nacked(ILogger logger, ulong deliveryTag, bool multiple, ushort channel);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Debug,
        Message = "A mandatory message to exchange '{Exchange}' with routing key '{RoutingKey}' was returned on channel {Channel}: {ReplyCode} {ReplyText}")]
    public static partial void Returned(ILogger logger, string exchange, string routingKey, ushort channel, ushort replyCode, string replyText);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information,
        Message = "The broker set flow on channel {Channel} to active={Active}")]
    public static partial void Flow(ILogger logger, ushort channel, bool active);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning,
        Message = "{Count} publishes awaiting their confirm on channel {Channel} failed: {Reason}")]
    public static partial void UnconfirmedFailed(ILogger logger, int count, ushort channel, string reason);
}
