using System.Diagnostics;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Diagnostics.Tracing;

/// <summary>Attributes and endings shared by the publish and process spans.</summary>
internal static class SpanTags
{
    public static void SetMessage(Activity activity, BasicProperties? properties)
    {
        if (properties?.MessageId is { Length: > 0 } id)
        {
            activity.SetTag(MessagingAttributes.MessageId, id);
        }

        if (properties?.CorrelationId is { Length: > 0 } correlation)
        {
            activity.SetTag(MessagingAttributes.ConversationId, correlation);
        }
    }

    public static void SetServer(Activity activity, ConnectionSession session)
    {
        activity.SetTag(MessagingAttributes.ServerAddress, session.Endpoint.Host);
        activity.SetTag(MessagingAttributes.ServerPort, session.Endpoint.Port);
        if (session.PeerAddress is { } peer)
        {
            activity.SetTag(MessagingAttributes.PeerAddress, peer);
        }
    }

    /// <summary>
    /// Ends a span (with error status and error.type when <paramref name="error"/> is set), leaving the current
    /// activity of the calling context as it was unless it was this span.
    /// </summary>
    public static void Stop(Activity activity, Exception? error, Activity? restore = null)
    {
        if (error is not null)
        {
            Fail(activity, error);
        }

        var current = Activity.Current;
        activity.Stop();
        var next = ReferenceEquals(current, activity) ? restore : current;
        if (!ReferenceEquals(Activity.Current, next))
        {
            Activity.Current = next;
        }
    }

    public static void Fail(Activity activity, Exception error)
    {
        activity.SetStatus(ActivityStatusCode.Error, error.Message);
        activity.SetTag(MessagingAttributes.ErrorType, MessagingAttributes.ErrorTypeOf(error));
    }
}
