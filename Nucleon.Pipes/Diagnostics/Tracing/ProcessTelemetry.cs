using System.Diagnostics;
using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes.Diagnostics.Tracing;

/// <summary>
/// A consumed message observed by a listener: <c>messaging.client.consumed.messages</c> when it is handed out,
/// and its <c>process</c> span (a Consumer span, child of or linked to the producer's) and
/// <c>messaging.process.duration</c> from the hand-out until it is settled or the loop moves on, whichever
/// comes first. The span is made current in the consume loop's own context when the loop reads the message
/// (<see cref="Enter"/>), so the application's work in the loop body belongs to it.
/// The state lives on the pooled <see cref="Delivery"/>; with nothing listening none of it is touched.
/// </summary>
internal static class ProcessTelemetry
{
    private const string Operation = "process";

    /// <summary>The consume loop hands <paramref name="delivery"/> out (from <paramref name="consumer"/>).</summary>
    public static void Begin(Delivery delivery, ConsumerState consumer)
    {
        var session = consumer.Channel.Session;
        var metrics = session.Owner.Metrics;
        var instruments = metrics.Instruments;
        bool traced = PipesActivitySource.Source.HasListeners();
        if (!traced && !instruments.ConsumedMessages.Enabled && !instruments.ProcessDuration.Enabled)
        {
            return;
        }

        if (instruments.ConsumedMessages.Enabled)
        {
            instruments.ConsumedMessages.Add(1, metrics.Tags(session, Operation, consumer.Queue));
        }

        if (instruments.ProcessDuration.Enabled)
        {
            delivery.ProcessStarted = Stopwatch.GetTimestamp();
        }

        if (traced)
        {
            delivery.ProcessSpan = StartSpan(delivery, consumer);
        }
    }

    /// <summary>The loop (or a worker) reads the message: its span becomes the current activity of the reader's context.</summary>
    public static void Enter(Message message)
    {
        if (message.Delivery is { ProcessSpan: { } span } delivery && message.IsValid && !ReferenceEquals(Activity.Current, span))
        {
            delivery.ProcessOuter = Activity.Current;
            Activity.Current = span;
        }
    }

    /// <summary>The handler of <paramref name="message"/> failed: its span gets error status (the settlement still ends it).</summary>
    public static void Failed(Message message, Exception error)
    {
        if (message.Delivery is { ProcessSpan: { } span } && message.IsValid)
        {
            SpanTags.Fail(span, error);
        }
    }

    /// <summary>
    /// The message was settled or the loop moved on: ends the span and records the duration, once (the two may race
    /// when the message was handed to another thread). Restores the reader's current activity when this span was it.
    /// </summary>
    public static void End(Delivery delivery)
    {
        if (delivery.ProcessSpan is null && delivery.ProcessStarted == 0)
        {
            return;
        }

        long started = Interlocked.Exchange(ref delivery.ProcessStarted, 0);
        var span = Interlocked.Exchange(ref delivery.ProcessSpan, null);
        if (started != 0 && delivery.Owner is { } consumer)
        {
            var session = consumer.Channel.Session;
            session.Owner.Metrics.Instruments.ProcessDuration.Record(
                Stopwatch.GetElapsedTime(started).TotalSeconds, session.Owner.Metrics.Tags(session, Operation, consumer.Queue));
        }

        if (span is not null)
        {
            // Only the caller that took the span touches the activity it restores.
            var outer = delivery.ProcessOuter;
            delivery.ProcessOuter = null;
            SpanTags.Stop(span, null, outer);
        }
    }

    private static Activity? StartSpan(Delivery delivery, ConsumerState consumer)
    {
        var session = consumer.Channel.Session;
        bool hasProducer = TraceContextHeaders.TryExtract(delivery.Properties.Headers, out var producer, out var baggage);
        bool link = hasProducer && session.Options.LinkProcessSpans;
        var activity = PipesActivitySource.Source.CreateActivity(
            PipesActivitySource.ProcessName(consumer.Queue),
            ActivityKind.Consumer,
            parentContext: hasProducer && !link ? producer : default,
            links: link ? [new ActivityLink(producer)] : null);
        if (activity is null)
        {
            return null;
        }

        if (baggage is not null)
        {
            foreach (var item in baggage)
            {
                activity.AddBaggage(item.Key, item.Value);
            }
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(MessagingAttributes.System, MessagingAttributes.SystemValue);
            activity.SetTag(MessagingAttributes.OperationName, Operation);
            activity.SetTag(MessagingAttributes.OperationType, Operation);
            activity.SetTag(MessagingAttributes.DestinationName, consumer.Queue);
            activity.SetTag(MessagingAttributes.RoutingKey, delivery.RoutingKey);
            activity.SetTag(MessagingAttributes.DeliveryTag, (long)delivery.DeliveryTag);
            activity.SetTag(MessagingAttributes.BodySize, delivery.BodyLength);
            SpanTags.SetMessage(activity, delivery.Properties);
            SpanTags.SetServer(activity, session);
        }

        // Started here, in the loop's step; made current in the loop's own context by Enter.
        var outer = Activity.Current;
        activity.Start();
        Activity.Current = outer;
        return activity;
    }
}
