using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>
/// Callers that give up in the middle of a call: the token may fire before the request is written,
/// while the broker works on it, or just as the answer arrives. Whatever the moment, only that call
/// ends; the connection and the channel's later calls carry on.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class CancellationTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    private const int Rounds = 150;

    // A token that fires after a random short delay (or at once), so the cancellation lands at a random stage.
    private CancellationTokenSource RandomCancellation(Random rng)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        int mode = rng.Next(4);
        if (mode == 0)
        {
            cts.Cancel();
        }
        else
        {
            _ = Task.Run(async () =>
            {
                if (mode > 1)
                {
                    await Task.Delay(rng.Next(0, 3));
                }

                try
                {
                    cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The operation already ended and its caller disposed the source.
                }
            });
        }

        return cts;
    }

    private async Task<int> AssertConnectionSurvivesAsync(AmqpConnection conn, int generation, Func<int> lostEvents)
    {
        await using var probe = await conn.AllocateChannelAsync(cancellationToken: Ct);
        await probe.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct);
        Assert.Equal(generation, conn.Generation);
        Assert.Equal(0, lostEvents());
        return generation;
    }

    // The channel numbers of abandoned opens and closes are freed once the broker has answered.
    private static async Task AssertChannelsReturnToAsync(AmqpConnection conn, int atMost)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (conn.CurrentSession!.OpenChannelCount > atMost)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{conn.CurrentSession.OpenChannelCount} channels hold a number; expected at most {atMost}.");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Cancelling_channel_opens_at_random_moments_never_kills_the_connection()
    {
        var conn = await ConnectAsync();
        int lost = 0;
        conn.ConnectionLost += (_, _) => Interlocked.Increment(ref lost);
        int generation = conn.Generation;
        var rng = new Random(7);
        int cancelled = 0;
        for (int i = 0; i < Rounds; i++)
        {
            using var cts = RandomCancellation(rng);
            var options = rng.Next(2) == 0 ? null : new ChannelOptions { PublisherConfirms = true };
            try
            {
                if (rng.Next(2) == 0)
                {
                    await using var ch = await conn.AllocateChannelAsync(options, cts.Token);
                }
                else
                {
                    await using var ch = await conn.RentChannelAsync(options, cts.Token);
                }
            }
            catch (OperationCanceledException)
            {
                cancelled++;
            }
        }

        Assert.True(cancelled > Rounds / 4, $"only {cancelled} of {Rounds} opens were cancelled: the test did not test much");
        await AssertConnectionSurvivesAsync(conn, generation, () => Volatile.Read(ref lost));
        await using (await conn.AllocateChannelAsync(cancellationToken: Ct))
        {
        }

        // Renting one at a time leaves at most one pooled channel per kind; abandoned opens must all be gone.
        await AssertChannelsReturnToAsync(conn, atMost: 2);
    }

    [Fact]
    public async Task Cancelling_channel_closes_at_random_moments_never_kills_the_connection_and_frees_every_number()
    {
        var conn = await ConnectAsync();
        int lost = 0;
        conn.ConnectionLost += (_, _) => Interlocked.Increment(ref lost);
        int generation = conn.Generation;
        int baseline = conn.CurrentSession!.OpenChannelCount;
        var rng = new Random(11);
        for (int i = 0; i < Rounds; i++)
        {
            var ch = await conn.AllocateChannelAsync(cancellationToken: Ct);
            using var cts = RandomCancellation(rng);
            try
            {
                await ch.CloseAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
            }

            Assert.False(ch.IsOpen);
            await Assert.ThrowsAnyAsync<AmqpException>(() => ch.QueueDeclareAsync("", exclusive: true, cancellationToken: Ct));
        }

        await AssertConnectionSurvivesAsync(conn, generation, () => Volatile.Read(ref lost));
        await AssertChannelsReturnToAsync(conn, atMost: baseline);
    }

    [Fact]
    public async Task A_cancelled_call_leaves_the_channel_usable_and_its_late_reply_never_answers_the_next_call()
    {
        var conn = await ConnectAsync();
        int lost = 0;
        conn.ConnectionLost += (_, _) => Interlocked.Increment(ref lost);
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: Ct);
        var rng = new Random(13);
        for (int i = 0; i < Rounds; i++)
        {
            using var cts = RandomCancellation(rng);
            try
            {
                await ch.QueueDeclareAsync($"nucleon.it.cancel.{i}", exclusive: true, cancellationToken: cts.Token);
            }
            catch (OperationCanceledException)
            {
            }

            // The next call gets its own answer (a stale declare-ok would carry the previous name).
            var ok = await ch.QueueDeclareAsync($"nucleon.it.next.{i}", exclusive: true, cancellationToken: Ct);
            Assert.Equal($"nucleon.it.next.{i}", ok.QueueName);
        }

        Assert.True(ch.IsOpen);
        Assert.Equal(0, Volatile.Read(ref lost));
    }

    [Fact]
    public async Task A_token_cancelled_after_its_call_completed_never_cancels_a_later_call()
    {
        var conn = await ConnectAsync();
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: Ct);
        for (int i = 0; i < Rounds; i++)
        {
            using var earlier = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            await ch.QueueDeclareAsync($"nucleon.it.first.{i}", exclusive: true, cancellationToken: earlier.Token);
            var later = ch.QueueDeclareAsync($"nucleon.it.second.{i}", exclusive: true, cancellationToken: Ct);
            earlier.Cancel();
            Assert.Equal($"nucleon.it.second.{i}", (await later).QueueName);
        }
    }

    [Fact]
    public async Task A_cancelled_auto_ack_get_is_never_rejected_so_the_channel_stays_open()
    {
        var q = await DeclareQueueAsync();
        for (int i = 0; i < 50; i++)
        {
            await PublishConfirmedAsync("", q, $"m{i}");
        }

        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var rng = new Random(17);
        for (int i = 0; i < 50; i++)
        {
            using var cts = RandomCancellation(rng);
            try
            {
                _ = await ch.GetAsync(q, autoAck: true, cancellationToken: cts.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        // A reject of an auto-acked tag would have closed the channel with 406 PRECONDITION_FAILED.
        await ch.QueueDeclareAsync(q, passive: true, cancellationToken: Ct);
        Assert.True(ch.IsOpen, $"channel closed: {ch.CloseReason}");
    }
}
