using System.Diagnostics;
using System.Runtime.CompilerServices;
using Nucleon.Pipes.Channels;

namespace Nucleon.Pipes.Diagnostics.Tracing;

/// <summary>
/// A publish observed by a listener: its <c>publish</c> span (a Producer span whose context goes into the
/// message headers), <c>messaging.client.sent.messages</c>, and for a confirmed publish
/// <c>messaging.client.operation.duration</c> and a span that ends at the broker's confirm.
/// Taken only when something listens (<see cref="IsOn"/>); otherwise publishing does none of this.
/// </summary>
internal static class PublishTelemetry
{
    private const string Operation = "publish";

    /// <summary>True when a span or a publish measurement would be recorded.</summary>
    public static bool IsOn(ChannelCore channel)
    {
        if (PipesActivitySource.Source.HasListeners())
        {
            return true;
        }

        var instruments = channel.Session.Owner.Metrics.Instruments;
        return instruments.SentMessages.Enabled || instruments.OperationDuration.Enabled;
    }

    /// <summary>Publishes through <paramref name="publisher"/> with the span around it and the measurements after it.</summary>
    public static ValueTask PublishAsync(ChannelPublisher publisher, ChannelCore channel, string exchange, string routingKey, ReadOnlyMemory<byte> body,
        BasicProperties? properties, bool mandatory, bool wakeWriter, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        var outer = Activity.Current;
        var activity = StartSpan(channel, exchange, routingKey, body.Length, properties);
        ValueTask sent;
        try
        {
            if (activity is not null)
            {
                properties = TraceContextHeaders.Inject(activity, properties);
            }

            sent = publisher.PublishUntracedAsync(exchange, routingKey, body, properties, mandatory, wakeWriter, cancellationToken);
        }
        catch (Exception ex)
        {
            End(channel, exchange, activity, started, ex);
            throw;
        }
        finally
        {
            // The span is the message's, not the caller's: the caller's current activity stays as it was.
            if (activity is not null)
            {
                Activity.Current = outer;
            }
        }

        if (sent.IsCompletedSuccessfully)
        {
            End(channel, exchange, activity, started, null);
            return default;
        }

        return CompleteAsync(sent, channel, exchange, activity, started);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask CompleteAsync(ValueTask sent, ChannelCore channel, string exchange, Activity? activity, long started)
    {
        try
        {
            await sent.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            End(channel, exchange, activity, started, ex);
            throw;
        }

        End(channel, exchange, activity, started, null);
    }

    private static Activity? StartSpan(ChannelCore channel, string exchange, string routingKey, int bodySize, BasicProperties? properties)
    {
        var source = PipesActivitySource.Source;
        if (!source.HasListeners())
        {
            return null;
        }

        string destination = MessagingAttributes.Exchange(exchange);
        var activity = source.StartActivity(PipesActivitySource.PublishName(destination), ActivityKind.Producer);
        if (activity is { IsAllDataRequested: true })
        {
            var session = channel.Session;
            activity.SetTag(MessagingAttributes.System, MessagingAttributes.SystemValue);
            activity.SetTag(MessagingAttributes.OperationName, Operation);
            activity.SetTag(MessagingAttributes.OperationType, "send");
            activity.SetTag(MessagingAttributes.DestinationName, destination);
            activity.SetTag(MessagingAttributes.RoutingKey, routingKey);
            activity.SetTag(MessagingAttributes.BodySize, bodySize);
            SpanTags.SetMessage(activity, properties);
            SpanTags.SetServer(activity, session);
        }

        return activity;
    }

    private static void End(ChannelCore channel, string exchange, Activity? activity, long started, Exception? error)
    {
        var metrics = channel.Session.Owner.Metrics;
        var instruments = metrics.Instruments;
        bool confirmed = channel.Confirms is not null;
        if (instruments.SentMessages.Enabled || (confirmed && instruments.OperationDuration.Enabled))
        {
            var tags = metrics.Tags(channel.Session, Operation, MessagingAttributes.Exchange(exchange));
            if (error is not null)
            {
                tags.Add(MessagingAttributes.ErrorType, MessagingAttributes.ErrorTypeOf(error));
            }

            instruments.SentMessages.Add(1, tags);
            if (confirmed)
            {
                instruments.OperationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
            }
        }

        if (activity is not null)
        {
            SpanTags.Stop(activity, error);
        }
    }
}
