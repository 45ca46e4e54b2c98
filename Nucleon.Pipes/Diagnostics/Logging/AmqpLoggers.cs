using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Nucleon.Pipes.Diagnostics.Logging;

/// <summary>
/// The loggers of one <see cref="AmqpConnection"/>, one per concern (logging category), created once from
/// <see cref="AmqpConnectionOptions.LoggerFactory"/>. Every event is written through the source-generated
/// methods of <see cref="ConnectionLog"/>, <see cref="ProtocolLog"/>, <see cref="ChannelLog"/>,
/// <see cref="ConsumerLog"/> and <see cref="PublisherLog"/>, which check <see cref="ILogger.IsEnabled"/> before
/// they format anything; none of them is on a per-message path at Information or above. An application's logger
/// is wrapped in a <see cref="GuardedLogger"/>: a log sink that throws never breaks the connection.
/// </summary>
internal sealed class AmqpLoggers
{
    /// <summary>Connection lifecycle (attempts, losses, reconnects, blocked) and protocol errors.</summary>
    public const string ConnectionCategory = "Nucleon.Pipes.Connection";

    /// <summary>Channels closed by the broker, pooled channels not reused.</summary>
    public const string ChannelCategory = "Nucleon.Pipes.Channel";

    /// <summary>Subscriptions, re-subscriptions, cancellations.</summary>
    public const string ConsumerCategory = "Nucleon.Pipes.Consumer";

    /// <summary>Nacks, returns, flow control, publishes failed by a closing channel.</summary>
    public const string PublisherCategory = "Nucleon.Pipes.Publisher";

    public AmqpLoggers(ILoggerFactory? factory)
    {
        factory ??= NullLoggerFactory.Instance;
        Connection = Create(factory, ConnectionCategory);
        Channel = Create(factory, ChannelCategory);
        Consumer = Create(factory, ConsumerCategory);
        Publisher = Create(factory, PublisherCategory);
    }

    public ILogger Connection { get; }

    public ILogger Channel { get; }

    public ILogger Consumer { get; }

    public ILogger Publisher { get; }

    // The null logger cannot throw: no guard, one virtual call less.
    private static ILogger Create(ILoggerFactory factory, string category) =>
        factory.CreateLogger(category) is var logger && logger is NullLogger ? logger : new GuardedLogger(logger);
}
