using System.Diagnostics;
using System.Runtime.CompilerServices;
using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes.Diagnostics.Metrics;

/// <summary>
/// <c>messaging.client.operation.duration</c> for settlements (ack, nack, reject): from the call until the
/// command is queued for the connection (the broker does not answer settlements). Only when the histogram
/// is enabled; <see cref="Start"/> returns 0 otherwise and nothing else runs.
/// </summary>
internal static class SettleMetrics
{
    /// <summary>A timestamp to pass to <see cref="Observe"/>, or 0 when nobody listens.</summary>
    public static long Start(ChannelCore channel) =>
        channel.Session.Owner.Metrics.Instruments.OperationDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Records the settlement when <paramref name="sent"/> completes; returns a task that completes with it.</summary>
    public static ValueTask Observe(ValueTask sent, long started, SettleKind kind, string queue, ChannelCore channel)
    {
        if (!sent.IsCompleted)
        {
            return ObserveAsync(sent, started, kind, queue, channel);
        }

        if (sent.IsCompletedSuccessfully)
        {
            Record(started, kind, queue, channel, null);
            return sent;
        }

        // Read once through a task: the ValueTask's source may be pooled and must be consumed only once.
        var failed = sent.AsTask();
        Record(started, kind, queue, channel, failed.Exception?.InnerException ?? new OperationCanceledException());
        return new ValueTask(failed);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask ObserveAsync(ValueTask sent, long started, SettleKind kind, string queue, ChannelCore channel)
    {
        try
        {
            await sent.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Record(started, kind, queue, channel, ex);
            throw;
        }

        Record(started, kind, queue, channel, null);
    }

    private static void Record(long started, SettleKind kind, string queue, ChannelCore channel, Exception? error)
    {
        var metrics = channel.Session.Owner.Metrics;
        var tags = metrics.Tags(channel.Session, kind switch { SettleKind.Ack => "ack", SettleKind.Nack => "nack", _ => "reject" }, queue);
        tags.Add(MessagingAttributes.OperationType, "settle");
        if (error is not null)
        {
            tags.Add(MessagingAttributes.ErrorType, MessagingAttributes.ErrorTypeOf(error));
        }

        metrics.Instruments.OperationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
    }
}
