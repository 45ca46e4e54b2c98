using Microsoft.Extensions.Logging;
using Nucleon.Pipes.Diagnostics.Logging;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// What the supervisor tells the application and the log about the connection's life. The application hears of
/// each outage once: <see cref="AmqpConnection.ConnectionLost"/> when an established connection goes, and
/// <see cref="AmqpConnection.Reconnected"/> when the next one is up and its hooks have run, with the outage's
/// length and the attempts that failed meanwhile; <see cref="AmqpConnection.OnError"/> hears of hooks that threw
/// and of the failure that ends the connection. Each attempt, failure and back-off goes to the log only.
/// Everything but <see cref="EndedAsync"/> runs on the supervisor's task.
/// </summary>
internal sealed class ConnectionSignals(AmqpConnection owner)
{
    private readonly ILogger _log = owner.Loggers.Connection;
    private readonly TimeProvider _time = owner.Options.TimeProvider;
    private int _attempt;        // attempts since the last connection was handed out
    private int _failedAttempts; // of those, the ones that failed
    private bool _inOutage;
    private long _outageSince;
    private volatile AmqpEndpoint? _lastEndpoint;
    private volatile Exception? _reported; // the last failure given to OnError: the one that ends the connection is not given twice

    public void Attempting(AmqpEndpoint endpoint, int generation)
    {
        _lastEndpoint = endpoint;
        ConnectionLog.ConnectAttempt(_log, endpoint, ++_attempt, generation);
    }

    /// <summary>An attempt failed before its connection was handed out (refused, timed out, handshake, lost during the hooks).</summary>
    public void AttemptFailed(AmqpEndpoint endpoint, Exception error)
    {
        _failedAttempts++;
        if (error is AmqpProtocolException protocol)
        {
            ProtocolLog.MalformedHandshake(_log, endpoint, protocol.ReplyCode, protocol.ReplyText);
        }

        ConnectionLog.AttemptFailed(_log, error, _attempt, endpoint, error.Message);
    }

    /// <summary>A hook threw: the attempt failed, and the application hears of it.</summary>
    public Task HookFailedAsync(ConnectionSession session, Exception error)
    {
        _failedAttempts++;
        ConnectionLog.HookFailed(_log, error, session.Generation, session.Endpoint, error.Message);
        return ReportAsync(error);
    }

    public void BackingOff(TimeSpan delay) => ConnectionLog.BackOff(_log, _attempt + 1, (long)delay.TotalMilliseconds);

    /// <summary>The handshake is done (the hooks have yet to run).</summary>
    public void SessionOpened(ConnectionSession session)
    {
        string product = Text(session.ServerProperties, "product"), version = Text(session.ServerProperties, "version");
        ConnectionLog.Connected(_log, session.Endpoint, session.Generation, product, version, session.FrameMax, session.ChannelMax, session.Heartbeat.TotalSeconds);
    }

    /// <summary>The connection is handed out (its hooks have run): this ends an outage, if one was on.</summary>
    public void HandedOut(ConnectionSession session)
    {
        if (_inOutage)
        {
            var outage = _time.GetElapsedTime(_outageSince);
            ConnectionLog.Reconnected(_log, session.Endpoint, session.Generation, (long)outage.TotalMilliseconds, _failedAttempts);
            owner.RaiseReconnected(new AmqpReconnectedEventArgs(session.Endpoint, session.Generation, outage, _failedAttempts));
        }

        _inOutage = false;
        _attempt = 0;
        _failedAttempts = 0;
    }

    /// <summary>A connection that was handed out ended without the application closing it: an outage begins.</summary>
    public void Lost(ConnectionSession session, Exception cause, bool willReconnect)
    {
        _inOutage = true;
        _outageSince = _time.GetTimestamp();
        int replyCode = (cause as AmqpReplyException)?.ReplyCode ?? 0;
        ConnectionLog.Lost(_log, cause, session.Generation, session.Endpoint, replyCode, cause.Message, willReconnect);
        owner.RaiseConnectionLost(new AmqpConnectionLostEventArgs(session.Endpoint, session.Generation, cause, willReconnect));
    }

    /// <summary>Closed for good: by the application (null, or a cancellation of ConnectAsync), or by <paramref name="failure"/>.</summary>
    public Task EndedAsync(Exception? failure, int generation)
    {
        var endpoint = _lastEndpoint ?? owner.Options.Endpoints[0];
        if (failure is null or OperationCanceledException)
        {
            ConnectionLog.Closed(_log, endpoint, generation);
            return Task.CompletedTask;
        }

        ConnectionLog.PermanentFailure(_log, failure, endpoint, generation, failure.Message);
        return ReferenceEquals(failure, _reported) ? Task.CompletedTask : ReportAsync(failure);
    }

    private Task ReportAsync(Exception error)
    {
        _reported = error;
        return owner.ReportAsync(error);
    }

    private static string Text(IDictionary<string, object?> properties, string key) =>
        properties.TryGetValue(key, out var value) && value is string text ? text : "?";
}
