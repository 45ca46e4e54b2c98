using Microsoft.Extensions.Logging;

namespace Nucleon.Pipes.Diagnostics.Logging;

/// <summary>
/// Protocol errors, EventIds 4000–4999, written to the <c>Nucleon.Pipes.Connection</c> category (they end the
/// connection they happen on). The text says what was malformed and where (channel, method, frame type), never
/// the bytes of a message.
/// </summary>
internal static partial class ProtocolLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Error,
        Message = "Malformed input from {Endpoint} on connection generation {Generation}: {ReplyCode} {What}; closing the connection")]
    public static partial void MalformedFrame(ILogger logger, AmqpEndpoint endpoint, int generation, ushort replyCode, string what);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error,
        Message = "Malformed input from {Endpoint} during the handshake: {ReplyCode} {What}")]
    public static partial void MalformedHandshake(ILogger logger, AmqpEndpoint endpoint, ushort replyCode, string what);
}
