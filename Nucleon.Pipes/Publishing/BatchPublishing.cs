namespace Nucleon.Pipes;

/// <summary>Publishing many messages on a confirm channel and learning exactly which ones the broker did not take.</summary>
public static class BatchPublishing
{
    // Publishes in flight at once: enough to keep the confirm pipeline full, few enough to bound the waiting state.
    private const int Window = 1024;

    // Messages queued between wake-ups of the connection's writer: each wake-up becomes one socket write
    // (one per message cost a system call every few messages against a fast broker).
    private const int FlushEvery = 256;

    /// <summary>
    /// Publishes <paramref name="messages"/> in order on a confirm-mode channel, up to 1,024 awaiting their confirm at
    /// once, and returns when every one is confirmed or has failed. It does not throw for a message's fate: each
    /// message the broker did not confirm is in <see cref="PublishBatchResult.Failures"/> with its index and the reason,
    /// and all others are confirmed. If the channel or connection goes, the rest of the batch fails fast.
    /// </summary>
    /// <param name="channel">A channel with <see cref="ChannelOptions.PublisherConfirms"/>.</param>
    /// <param name="messages">The messages; each body is copied when it is published.</param>
    /// <param name="cancellationToken">
    /// Stops the batch: messages not yet published, and those whose confirm had not come (they may still reach the
    /// broker), are reported as failures with <see cref="OperationCanceledException"/>.
    /// </param>
    /// <exception cref="InvalidOperationException">The channel is not in confirm mode (nothing could be confirmed).</exception>
    public static Task<PublishBatchResult> PublishBatchAsync(this MessageChannel channel, IReadOnlyList<OutgoingMessage> messages,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(messages);
        if (!channel.PublisherConfirms)
        {
            throw new InvalidOperationException("A batch publish needs a channel with PublisherConfirms: without confirms no message could be known to have arrived.");
        }

        return PublishAsync(channel, messages, cancellationToken);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2012:Use ValueTasks correctly", Justification = "Each publish's ValueTask waits in the ring and is awaited exactly once.")]
    private static async Task<PublishBatchResult> PublishAsync(MessageChannel channel, IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        int count = messages.Count;
        int window = Math.Max(1, Math.Min(count, Window));
        // Rented: 16 KB per batch was most of what a batch allocated.
        var inFlight = System.Buffers.ArrayPool<ValueTask>.Shared.Rent(window);
        List<PublishFailure>? failures = null;
        try
        {
            // Step i awaits the confirm of message i - window, then publishes message i into the place it freed.
            // One loop, one await: the method's state is boxed once per batch, not once per message.
            for (int i = 0; i < count + window; i++)
            {
                int settled = i - window;
                if (settled >= 0 && settled < count)
                {
                    var oldest = inFlight[settled % window];
                    if (!oldest.IsCompleted)
                    {
                        // Its confirm needs what is queued to leave.
                        channel.FlushBatch();
                    }

                    try
                    {
                        await oldest.ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        (failures ??= []).Add(new PublishFailure(settled, messages[settled], ex));
                    }
                }

                if (i < count)
                {
                    inFlight[i % window] = Start(channel, messages[i], cancellationToken);
                    if ((i & (FlushEvery - 1)) == FlushEvery - 1)
                    {
                        channel.FlushBatch();
                    }
                }
            }
        }
        finally
        {
            // Nothing this batch queued is left waiting for a writer that was never woken.
            channel.FlushBatch();
            System.Buffers.ArrayPool<ValueTask>.Shared.Return(inFlight, clearArray: true);
        }

        return new PublishBatchResult(count, failures ?? (IReadOnlyList<PublishFailure>)[]);
    }

    private static ValueTask Start(MessageChannel channel, in OutgoingMessage message, CancellationToken cancellationToken)
    {
        try
        {
            return channel.BasicPublishInBatchAsync(message.Exchange, message.RoutingKey, message.Body, message.Properties, message.Mandatory, cancellationToken);
        }
        catch (Exception ex)
        {
            // Refused before sending (a bad argument, a closed channel): that message's failure, not the batch's.
            return ValueTask.FromException(ex);
        }
    }
}
