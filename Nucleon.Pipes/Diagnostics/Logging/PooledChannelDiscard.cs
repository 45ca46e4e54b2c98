using Microsoft.Extensions.Logging;
using Nucleon.Pipes.Channels;

namespace Nucleon.Pipes.Diagnostics.Logging;

/// <summary>
/// Says why a pool closes a channel instead of handing it to the next renter (event 2001, Debug): the reasons of
/// <see cref="ChannelCore.IsReusable"/>, worked out only when the event is enabled.
/// </summary>
internal static class PooledChannelDiscard
{
    /// <summary>Logs that <paramref name="channel"/> is discarded, because of <paramref name="why"/> or, when null, of what makes it unusable.</summary>
    public static void Log(ChannelCore channel, string? why = null)
    {
        var log = channel.Session.Owner.Loggers.Channel;
        if (log.IsEnabled(LogLevel.Debug) && (why ?? Why(channel)) is { } reason)
        {
            ChannelLog.PooledChannelDiscarded(log, channel.Number, channel.Session.Generation, reason);
        }
    }

    /// <summary>What stops <paramref name="channel"/> from being reused; null when it is reusable.</summary>
    public static string? Why(ChannelCore channel) => channel switch
    {
        { IsOpen: false } => channel.CloseReason is { } closed ? $"it is closed: {closed.Message}" : "it is not open",
        { Dirty: true } => "its renter changed channel-wide state (qos, flow, tx or confirm.select)",
        { Session.IsCurrent: false } => "its connection is no longer the current one",
        { Consumers.Count: > 0 } => $"{channel.Consumers.Count} consumers are still subscribed on it",
        { ReturnHandler: not null } => "an OnReturn handler is set on it",
        { Confirms.Outstanding: > 0 } => $"{channel.Confirms!.Outstanding} publishes on it await their confirm",
        { Rpc.IsWaiting: true } => "a call on it still waits for the broker's answer",
        _ => channel.Hygiene.WhyUnclean(),
    };
}
