using Microsoft.Extensions.Logging;

namespace Nucleon.Pipes.Hosting;

/// <summary>The hosting layer's log messages (source-generated: nothing is formatted when the level is off).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(1, LogLevel.Information, "AMQP connection '{Name}' connected to {Endpoint}")]
    public static partial void Connected(ILogger logger, string name, AmqpEndpoint? endpoint);

    [LoggerMessage(2, LogLevel.Error, "AMQP connection '{Name}' failed for good")]
    public static partial void FailedForGood(ILogger logger, Exception error, string name);

    [LoggerMessage(3, LogLevel.Warning, "AMQP connection '{Name}': {Message}")]
    public static partial void ConnectionError(ILogger logger, Exception error, string name, string message);

    [LoggerMessage(4, LogLevel.Warning, "AMQP connection '{Name}': the shutdown timeout ended with {Count} publishes still unconfirmed; their callers get an exception")]
    public static partial void PublishesUnconfirmed(ILogger logger, string name, int count);

    [LoggerMessage(5, LogLevel.Debug, "AMQP connection '{Name}': close did not finish cleanly")]
    public static partial void CloseUnclean(ILogger logger, Exception error, string name);

    [LoggerMessage(10, LogLevel.Information, "AMQP consumer on '{Queue}' ended: the connection was closed")]
    public static partial void ConsumerEnded(ILogger logger, string queue);

    [LoggerMessage(11, LogLevel.Error, "AMQP consumer on '{Queue}' stopped: {Message}")]
    public static partial void ConsumerFailed(ILogger logger, Exception error, string queue, string message);

    [LoggerMessage(12, LogLevel.Warning, "AMQP consumer on '{Queue}': handler {Handler} failed on delivery {DeliveryTag}; nack, requeue={Requeue}")]
    public static partial void HandlerFailed(ILogger logger, Exception error, string queue, string handler, ulong deliveryTag, bool requeue);

    [LoggerMessage(13, LogLevel.Debug, "AMQP consumer on '{Queue}': delivery {DeliveryTag} could not be settled; the broker redelivers it")]
    public static partial void SettleFailed(ILogger logger, Exception error, string queue, ulong deliveryTag);

    [LoggerMessage(14, LogLevel.Warning, "AMQP consumer on '{Queue}': {Count} handlers were still running when the shutdown timeout ran out; their messages go back to the queue")]
    public static partial void HandlersCutShort(ILogger logger, string queue, int count);

    [LoggerMessage(15, LogLevel.Debug, "AMQP consumer on '{Queue}': cancel did not finish cleanly; the broker requeues what it had sent")]
    public static partial void CancelUnclean(ILogger logger, Exception error, string queue);
}
