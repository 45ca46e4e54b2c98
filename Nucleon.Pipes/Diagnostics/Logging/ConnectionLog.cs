using Microsoft.Extensions.Logging;

namespace Nucleon.Pipes.Diagnostics.Logging;

/// <summary>
/// Events of the <c>Nucleon.Pipes.Connection</c> category, EventIds 1000–1999: the connection's lifecycle.
/// The ids and field names are part of the documented surface (README, "Observability"): never renumber one.
/// </summary>
internal static partial class ConnectionLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Debug,
        Message = "Connecting to {Endpoint} (attempt {Attempt}, for connection generation {Generation})")]
    public static partial void ConnectAttempt(ILogger logger, AmqpEndpoint endpoint, int attempt, int generation);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
        Message = "Connected to {Endpoint}: generation {Generation}, {ServerProduct} {ServerVersion}, frame_max {FrameMax}, channel_max {ChannelMax}, heartbeat {HeartbeatSeconds} s")]
    public static partial void Connected(ILogger logger, AmqpEndpoint endpoint, int generation, string serverProduct, string serverVersion, uint frameMax, ushort channelMax, double heartbeatSeconds);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning,
        Message = "Connection attempt {Attempt} to {Endpoint} failed: {Reason}")]
    public static partial void AttemptFailed(ILogger logger, Exception error, int attempt, AmqpEndpoint endpoint, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug,
        Message = "Next connection attempt ({Attempt}) in {DelayMs} ms")]
    public static partial void BackOff(ILogger logger, int attempt, long delayMs);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning,
        Message = "Connection generation {Generation} to {Endpoint} was lost (reply code {ReplyCode}): {Reason}; reconnecting: {WillReconnect}")]
    public static partial void Lost(ILogger logger, Exception cause, int generation, AmqpEndpoint endpoint, int replyCode, string reason, bool willReconnect);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information,
        Message = "Reconnected to {Endpoint}: generation {Generation} is up after an outage of {OutageMs} ms and {FailedAttempts} failed attempts")]
    public static partial void Reconnected(ILogger logger, AmqpEndpoint endpoint, int generation, long outageMs, int failedAttempts);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Error,
        Message = "An on-connect hook failed on connection generation {Generation} to {Endpoint}: {Reason}")]
    public static partial void HookFailed(ILogger logger, Exception error, int generation, AmqpEndpoint endpoint, string reason);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning,
        Message = "The broker blocked connection generation {Generation} to {Endpoint}: {Reason}")]
    public static partial void Blocked(ILogger logger, int generation, AmqpEndpoint endpoint, string reason);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information,
        Message = "Connection generation {Generation} to {Endpoint} is no longer blocked after {BlockedMs} ms (connection ended: {ConnectionEnded})")]
    public static partial void Unblocked(ILogger logger, int generation, AmqpEndpoint endpoint, long blockedMs, bool connectionEnded);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Error,
        Message = "The connection to {Endpoint} failed for good after {Generation} generations: {Reason}")]
    public static partial void PermanentFailure(ILogger logger, Exception error, AmqpEndpoint endpoint, int generation, string reason);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information,
        Message = "The connection to {Endpoint} was closed by the application after {Generation} generations")]
    public static partial void Closed(ILogger logger, AmqpEndpoint endpoint, int generation);

    // Debug: a message handler can fail on every message, and OnError has it already.
    [LoggerMessage(EventId = 1011, Level = LogLevel.Debug,
        Message = "An application callback threw ({Callback}); reported to OnError")]
    public static partial void CallbackFailed(ILogger logger, Exception error, string callback);
}
