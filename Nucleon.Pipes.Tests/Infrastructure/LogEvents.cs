namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>The library's log event ids, as the README documents them (LoggingCatalogueTests keeps the two in step).</summary>
public static class LogEvents
{
    public const int ConnectAttempt = 1000;
    public const int Connected = 1001;
    public const int AttemptFailed = 1002;
    public const int BackOff = 1003;
    public const int Lost = 1004;
    public const int Reconnected = 1005;
    public const int HookFailed = 1006;
    public const int Blocked = 1007;
    public const int Unblocked = 1008;
    public const int PermanentFailure = 1009;
    public const int Closed = 1010;
    public const int CallbackFailed = 1011;
    public const int ClosedByBroker = 2000;
    public const int PooledChannelDiscarded = 2001;
    public const int Subscribed = 3000;
    public const int Resubscribed = 3001;
    public const int CancelledByBroker = 3002;
    public const int Overflowed = 3003;
    public const int MalformedFrame = 4000;
    public const int MalformedHandshake = 4001;
    public const int Nacked = 5000;
    public const int Returned = 5001;
    public const int Flow = 5002;
    public const int UnconfirmedFailed = 5003;
}
