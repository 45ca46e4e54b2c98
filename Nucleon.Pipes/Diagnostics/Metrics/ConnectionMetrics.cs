using System.Diagnostics;
using System.Diagnostics.Metrics;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Diagnostics.Metrics;

/// <summary>
/// What one <see cref="AmqpConnection"/> contributes to the meter: the readings of its observable instruments
/// (taken from counters the connection keeps anyway) and the attributes of its per-message measurements.
/// Byte counts run across generations: each session is tracked when it is created, and a generation's final
/// counts join the totals when the next one starts.
/// </summary>
internal sealed class ConnectionMetrics
{
    private static int s_lastId;

    private readonly AmqpConnection _connection;
    private readonly object _lock = new();
    private readonly object _id = Interlocked.Increment(ref s_lastId); // boxed once: an attribute value
    private ConnectionSession? _lastSession;
    private long _bytesSentBefore;
    private long _bytesReceivedBefore;
    private EndpointPort? _port; // one reference, so a reader never pairs one endpoint with another's port

    public ConnectionMetrics(AmqpConnection connection)
    {
        _connection = connection;
        Instruments = PipesMetrics.For(connection.Options.MeterFactory);
    }

    public PipesMetrics Instruments { get; }

    // Its own lock: Start takes it and then the meter's; the meter's Remove takes the meter's and then _lock (bytes).
    private readonly object _lifecycle = new();
    private bool _stopped; // under _lifecycle: once closed for good, a late Start must not report it again

    /// <summary>The connection started: the observable instruments include it from now on (never after <see cref="Stop"/>).</summary>
    public void Start()
    {
        lock (_lifecycle)
        {
            if (!_stopped)
            {
                Instruments.Add(this);
            }
        }
    }

    /// <summary>Closed for good: its counters stop being reported (its reconnects and bytes stay in the totals).</summary>
    public void Stop()
    {
        lock (_lifecycle)
        {
            _stopped = true;
        }

        Instruments.Remove(this);
    }

    /// <summary>
    /// The attributes of a per-message measurement on <paramref name="session"/>: messaging.system, the
    /// destination and the server. A <see cref="TagList"/> holds up to eight inline, so nothing is allocated.
    /// </summary>
    public TagList Tags(ConnectionSession session, string operation, string destination)
    {
        var tags = ServerTags(session);
        tags.Add(MessagingAttributes.OperationName, operation);
        tags.Add(MessagingAttributes.DestinationName, destination);
        return tags;
    }

    /// <summary>Reader: the broker nacked <paramref name="count"/> confirmed publishes.</summary>
    public void Nacked(ConnectionSession session, int count)
    {
        if (count > 0 && Instruments.Nacks.Enabled)
        {
            Instruments.Nacks.Add(count, ServerTags(session));
        }
    }

    /// <summary>Reader: the broker returned a mandatory publish to <paramref name="exchange"/>.</summary>
    public void Returned(ConnectionSession session, string exchange)
    {
        if (Instruments.Returns.Enabled)
        {
            var tags = ServerTags(session);
            tags.Add(MessagingAttributes.DestinationName, MessagingAttributes.Exchange(exchange));
            Instruments.Returns.Add(1, tags);
        }
    }

    private TagList ServerTags(ConnectionSession session) => new()
    {
        { MessagingAttributes.System, MessagingAttributes.SystemValue },
        { MessagingAttributes.ServerAddress, session.Endpoint.Host },
        { MessagingAttributes.ServerPort, Port(session.Endpoint) },
    };

    // The port as an attribute value, boxed once per endpoint rather than per measurement.
    private object Port(AmqpEndpoint endpoint)
    {
        var cached = Volatile.Read(ref _port);
        if (cached is null || !ReferenceEquals(cached.Endpoint, endpoint))
        {
            cached = new EndpointPort(endpoint, endpoint.Port);
            Volatile.Write(ref _port, cached);
        }

        return cached.Port;
    }

    private sealed record EndpointPort(AmqpEndpoint Endpoint, object Port);

    private ConnectionSession? Open => _connection.CurrentSession is { IsOpen: true } session ? session : null;

    public long OpenConnections() => Open is null ? 0 : 1;

    public long OpenChannels() => Open?.OpenChannelCount ?? 0;

    public long Reconnects() => Math.Max(0, _connection.Generation - 1);

    public Measurement<long> Generation() =>
        new(_connection.Generation, PipesMetrics.SystemTag, new("nucleon.pipes.connection.id", _id),
            new("nucleon.pipes.connection.name", _connection.Options.ClientProvidedName ?? string.Empty));

    public long Blocked() => Open is { IsBlocked: true } ? 1 : 0;

    public long ConfirmsOutstanding()
    {
        long outstanding = 0;
        if (Open is { } session)
        {
            foreach (var channel in session.ChannelSnapshot())
            {
                outstanding += channel?.Confirms?.Outstanding ?? 0;
            }
        }

        return outstanding;
    }

    /// <summary>Adds each consumer's inbox depth to the total of the queue it reads.</summary>
    public void InboxDepths(Dictionary<string, long> byQueue)
    {
        if (Open is not { } session)
        {
            return;
        }

        foreach (var channel in session.ChannelSnapshot())
        {
            if (channel is null)
            {
                continue;
            }

            foreach (var consumer in channel.Consumers.Snapshot())
            {
                byQueue[consumer.Queue] = byQueue.GetValueOrDefault(consumer.Queue) + consumer.Inbox.Count;
            }
        }
    }

    public long BytesSent() => Bytes().Sent;

    public long BytesReceived() => Bytes().Received;

    /// <summary>A new generation's session exists: the previous one has ended, so its byte counts are final and join the totals.</summary>
    public void Track(ConnectionSession session)
    {
        lock (_lock)
        {
            if (_lastSession is { } ended)
            {
                _bytesSentBefore += ended.Writer.BytesFlushed;
                _bytesReceivedBefore += ended.BytesReceived;
            }

            _lastSession = session;
        }
    }

    private (long Sent, long Received) Bytes()
    {
        lock (_lock)
        {
            var last = _lastSession;
            return (_bytesSentBefore + (last?.Writer.BytesFlushed ?? 0), _bytesReceivedBefore + (last?.BytesReceived ?? 0));
        }
    }
}
