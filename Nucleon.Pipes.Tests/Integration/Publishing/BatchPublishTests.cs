using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Messaging;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Publishing;

/// <summary><see cref="BatchPublishing.PublishBatchAsync"/> and the correlation data of publish errors, on the real broker.</summary>
[Collection(BrokerCollection.Name)]
public sealed class BatchPublishTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    private static readonly Dictionary<string, object?> RejectWhenFull = new() { ["x-max-length"] = 10, ["x-overflow"] = "reject-publish" };

    private static OutgoingMessage[] Batch(string queue, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new OutgoingMessage("", queue, Body(i), new BasicProperties { MessageId = $"m{i}" }))];

    [Fact]
    public async Task Every_message_of_a_batch_is_confirmed()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.RentChannelAsync(Confirming, Ct);

        var result = await ch.PublishBatchAsync(Batch(q, 5000), Ct);

        Assert.True(result.AllConfirmed, $"{result.Failures.Count} failed, first: {(result.Failures.Count > 0 ? result.Failures[0].Error : null)}");
        Assert.Equal(5000, result.Count);
        Assert.Equal(5000, result.Confirmed);
        Assert.Equal(5000u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task A_batch_reports_exactly_the_messages_a_full_queue_refused()
    {
        var q = await DeclareQueueAsync(RejectWhenFull);
        await using var ch = await Conn.RentChannelAsync(Confirming, Ct);

        var result = await ch.PublishBatchAsync(Batch(q, 30), Ct);

        Assert.Equal(10, result.Confirmed);
        Assert.Equal(Enumerable.Range(10, 20), result.Failures.Select(f => f.Index));
        Assert.All(result.Failures, f =>
        {
            Assert.IsType<AmqpPublishNackedException>(f.Error);
            Assert.Equal($"m{f.Index}", f.Message.Properties!.MessageId);
        });
        Assert.Equal(Enumerable.Range(10, 20).Select(i => $"m{i}"), result.FailedMessages.Select(m => m.Properties!.MessageId));
        Assert.Equal(10u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task A_batch_reports_unroutable_mandatory_messages_with_their_properties_and_sequence_numbers()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.AllocateChannelAsync(Confirming, Ct);
        Assert.Equal(1ul, ch.NextPublishSequenceNumber);
        var batch = Enumerable.Range(0, 40)
            .Select(i => new OutgoingMessage("", i % 2 == 0 ? q : "nucleon.it.nowhere." + Guid.NewGuid().ToString("N"), Body(i),
                new BasicProperties { MessageId = $"m{i}" }, Mandatory: true))
            .ToList();

        var result = await ch.PublishBatchAsync(batch, Ct);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => (2 * i) + 1), result.Failures.Select(f => f.Index));
        Assert.All(result.Failures, f =>
        {
            var returned = Assert.IsType<AmqpMessageReturnedException>(f.Error);
            Assert.Equal(AmqpReplyCode.NoRoute, returned.ReplyCode);
            Assert.Equal($"m{f.Index}", returned.Properties.MessageId);
            Assert.Equal((ulong)f.Index + 1, returned.SequenceNumber);
            Assert.Contains($"m{f.Index}", returned.Message, StringComparison.Ordinal);
        });
        Assert.Equal(20u, await ReadyCountAsync(q));
        Assert.Equal(41ul, ch.NextPublishSequenceNumber);
    }

    [Fact]
    public async Task A_message_that_cannot_be_encoded_fails_alone()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.RentChannelAsync(Confirming, Ct);
        var batch = Batch(q, 10);
        batch[4] = batch[4] with { RoutingKey = new string('k', 300) };

        var result = await ch.PublishBatchAsync(batch, Ct);

        var failure = Assert.Single(result.Failures);
        Assert.Equal(4, failure.Index);
        Assert.IsType<ArgumentException>(failure.Error);
        Assert.Equal(9u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task A_cancelled_batch_reports_every_message_it_did_not_confirm()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.RentChannelAsync(Confirming, Ct);

        var result = await ch.PublishBatchAsync(Batch(q, 100), new CancellationToken(canceled: true));

        Assert.Equal(0, result.Confirmed);
        Assert.Equal(Enumerable.Range(0, 100), result.Failures.Select(f => f.Index));
        Assert.All(result.Failures, f => Assert.IsAssignableFrom<OperationCanceledException>(f.Error));
    }

    [Fact]
    public async Task A_batch_on_a_channel_without_confirms_is_refused()
    {
        var q = await DeclareQueueAsync();
        await using var ch = await Conn.RentChannelAsync(cancellationToken: Ct);
        Assert.Throws<InvalidOperationException>(() => { _ = ch.PublishBatchAsync(Batch(q, 1), Ct); });
        Assert.Equal(0ul, ch.NextPublishSequenceNumber);
    }

    [Fact]
    public async Task Publishing_the_failures_again_after_a_lost_connection_loses_nothing()
    {
        const int count = 20_000;
        var q = await DeclareQueueAsync();
        await using var proxy = new TcpFaultProxy(Broker.Host, Broker.Port);
        await proxy.StartAsync();
        await using var conn = new AmqpConnection(ViaProxy(Broker, proxy, "batch-loss"));
        await conn.ConnectAsync(Ct);

        IReadOnlyList<OutgoingMessage> pending = Batch(q, count);
        int rounds = 0, lost = 0;
        while (pending.Count > 0)
        {
            rounds++;
            await using var ch = await conn.RentChannelAsync(Confirming, Ct);
            var batch = ch.PublishBatchAsync(pending, Ct);
            if (rounds == 1)
            {
                await WaitUntilAsync(() => proxy.BytesUpstream > count * 20L || batch.IsCompleted, TimeSpan.FromSeconds(30), "part of the batch to be sent");
                proxy.CutAll();
            }

            var result = await batch.WaitAsync(Ct);
            Assert.All(result.Failures, f => Assert.True(f.Error is AmqpConnectionLostException or AmqpChannelClosedException, f.Error.ToString()));
            lost += rounds == 1 ? result.Failures.Count : 0;
            pending = result.FailedMessages;
        }

        Assert.True(lost > 0, "the cut came after the whole batch was confirmed; nothing was tested");
        var seen = new HashSet<long>();
        await using (var consumer = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await foreach (var m in consumer.ConsumeAsync(q, new ConsumeOptions { Prefetch = 1000 }, Ct))
            {
                seen.Add(Id(m.Body));
                await m.AckAsync(cancellationToken: Ct);
                if (seen.Count == count)
                {
                    break;
                }
            }
        }

        Assert.Equal(count, seen.Count);
    }

    // A connection whose publishes mostly find no room: a confirm window of 8 and a channel queue of 4 commands
    // (or, byBytes, of 256 bytes: two or three of these publishes).
    private async Task<AmqpConnection> ConnectSqueezedAsync(bool byBytes = false)
    {
        var options = AmqpConnectionOptions.Parse(Broker.AmqpUri) with { MaxOutstandingConfirms = 8 };
        options = byBytes ? options with { ChannelOutboundBytes = 256 } : options with { ChannelOutboundCapacity = 4 };
        var conn = new AmqpConnection(options);
        try
        {
            await conn.ConnectAsync(Ct);
            return conn;
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    // Reads the queue's first count messages and checks their message ids are m0, m1, m2, ...
    private async Task AssertQueueHoldsInOrderAsync(string queue, int count)
    {
        await using var reader = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        int expected = 0;
        await foreach (var m in reader.ConsumeAsync(queue, new ConsumeOptions { AutoAck = true, Prefetch = 500 }, Ct))
        {
            Assert.Equal($"m{expected}", m.Properties.MessageId);
            if (++expected == count)
            {
                break;
            }
        }
    }

    [Fact]
    public async Task Under_back_pressure_a_batch_reaches_the_queue_in_its_own_order()
    {
        // A confirm window of 8 and a channel queue of 4: most messages find no room and wait. Each must still
        // leave after the one before it (two waiting at once would race for the room that frees).
        const int count = 2000;
        var q = await DeclareQueueAsync();
        await using var conn = await ConnectSqueezedAsync();
        await using var ch = await conn.AllocateChannelAsync(Confirming, Ct);

        var result = await ch.PublishBatchAsync(Batch(q, count), Ct);

        Assert.True(result.AllConfirmed, $"{result.Failures.Count} failed");
        await AssertQueueHoldsInOrderAsync(q, count);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public async Task Publishes_started_one_after_another_without_awaiting_keep_their_order_under_back_pressure(bool confirms, bool queueBoundInBytes)
    {
        // The pipelined pattern: start each publish, await them later. With a confirm window of 8 and a channel
        // queue of 4 commands (or 256 bytes) most of them wait for room, and each must still leave after the one
        // started before it.
        const int count = 2000;
        var q = await DeclareQueueAsync();
        await using var conn = await ConnectSqueezedAsync(queueBoundInBytes);
        await using var ch = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = confirms }, Ct);

        var publishes = new ValueTask[count];
        for (int i = 0; i < count; i++)
        {
            publishes[i] = ch.PublishAsync("", q, Body(i), new BasicProperties { MessageId = $"m{i}" }, cancellationToken: Ct).Preserve();
        }

        foreach (var publish in publishes)
        {
            await publish;
        }

        await AssertQueueHoldsInOrderAsync(q, count);
    }

    [Fact]
    public async Task Messages_larger_than_the_queues_byte_bound_still_go_out_one_at_a_time_in_order()
    {
        // ChannelOutboundBytes of 1 KiB and 64 KiB bodies: each publish is accepted only into an empty queue, and
        // must neither be refused for good nor overtake the one before it.
        const int count = 40;
        var q = await DeclareQueueAsync();
        var options = AmqpConnectionOptions.Parse(Broker.AmqpUri) with { ChannelOutboundBytes = 1024 };
        await using var conn = new AmqpConnection(options);
        await conn.ConnectAsync(Ct);
        await using var ch = await conn.AllocateChannelAsync(Confirming, Ct);
        var body = new byte[64 * 1024];

        var publishes = new ValueTask[count];
        for (int i = 0; i < count; i++)
        {
            publishes[i] = ch.PublishAsync("", q, body, new BasicProperties { MessageId = $"m{i}" }, cancellationToken: Ct).Preserve();
        }

        foreach (var publish in publishes)
        {
            await publish;
        }

        await AssertQueueHoldsInOrderAsync(q, count);
    }

    [Fact]
    public async Task Single_publish_errors_carry_the_sequence_number_the_channel_announced()
    {
        var q = await DeclareQueueAsync(RejectWhenFull);
        await using var ch = await Conn.AllocateChannelAsync(Confirming, Ct);
        for (int i = 0; i < 10; i++)
        {
            await ch.PublishAsync("", q, Body(i), cancellationToken: Ct);
        }

        ulong refused = ch.NextPublishSequenceNumber;
        var nacked = await Assert.ThrowsAsync<AmqpPublishNackedException>(async () => await ch.PublishAsync("", q, Body(10), cancellationToken: Ct));
        Assert.Equal(refused, nacked.SequenceNumber);

        ulong unroutable = ch.NextPublishSequenceNumber;
        var properties = new BasicProperties { MessageId = "lost-one", CorrelationId = "c-1" };
        var returned = await Assert.ThrowsAsync<AmqpMessageReturnedException>(async () =>
            await ch.PublishAsync("", "nucleon.it.nowhere", Body(11), properties, mandatory: true, cancellationToken: Ct));
        Assert.Equal(unroutable, returned.SequenceNumber);
        Assert.Equal("lost-one", returned.Properties.MessageId);
        Assert.Equal("c-1", returned.Properties.CorrelationId);
    }
}
