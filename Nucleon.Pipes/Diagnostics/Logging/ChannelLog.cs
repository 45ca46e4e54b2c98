using Microsoft.Extensions.Logging;

namespace Nucleon.Pipes.Diagnostics.Logging;

/// <summary>Events of the <c>Nucleon.Pipes.Channel</c> category, EventIds 2000–2999.</summary>
internal static partial class ChannelLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Warning,
        Message = "The broker closed channel {Channel} of connection generation {Generation} to {Endpoint}: {ReplyCode} {ReplyText} (caused by {Method}: class {ClassId}, method {MethodId})")]
    public static partial void ClosedByBroker(ILogger logger, ushort channel, int generation, AmqpEndpoint endpoint, ushort replyCode, string replyText, string method, ushort classId, ushort methodId);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug,
        Message = "Pooled channel {Channel} of connection generation {Generation} is closed instead of reused: {Why}")]
    public static partial void PooledChannelDiscarded(ILogger logger, ushort channel, int generation, string why);
}
