using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>Quorum queues with typed options on the real broker: delivery count and limit, dead-lettering and x-death.</summary>
[Collection(BrokerCollection.Name)]
public sealed class QuorumQueueTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Fact]
    public async Task A_message_nacked_past_its_delivery_limit_is_dead_lettered_with_its_count_and_reason()
    {
        var dlq = await DeclareQueueAsync(what: "dlq");
        var q = NewQueue("quorum");
        await using (var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await ch.QueueDeclareQuorumAsync(q, new QuorumQueueOptions
            {
                DeliveryLimit = 2,
                DeadLetterExchange = "",
                DeadLetterRoutingKey = dlq,
                DeadLetterStrategy = DeadLetterStrategy.AtMostOnce,
                InitialGroupSize = 1,
            }, Ct);
        }

        await PublishConfirmedAsync("", q, "poison");
        var counts = new List<long?>();
        await using (var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await foreach (var m in ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 1 }, Ct))
            {
                counts.Add(m.DeliveryCount);
                Assert.Empty(m.Deaths);
                await m.NackAsync(requeue: true, cancellationToken: Ct);
                if (counts.Count == 3)
                {
                    break;
                }
            }
        }

        Assert.Equal([null, 1L, 2L], counts);
        await using var reader = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        Message? got;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((got = await reader.GetAsync(dlq, cancellationToken: Ct)) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "nothing was dead-lettered");
            await Task.Delay(50, Ct);
        }

        var dead = got.Value;
        Assert.Equal("poison", Text(dead));
        var death = Assert.Single(dead.Deaths);
        Assert.Equal(q, death.Queue);
        Assert.Equal("delivery_limit", death.Reason);
        Assert.Equal(1, death.Count);
        Assert.Equal("", death.Exchange);
        Assert.Equal([q], death.RoutingKeys);
        Assert.NotNull(death.Time);
        await dead.AckAsync(cancellationToken: Ct);
    }

    [Fact]
    public async Task Typed_options_become_the_arguments_RabbitMQ_accepts()
    {
        var q = NewQueue("quorum");
        var options = new QuorumQueueOptions
        {
            DeliveryLimit = 5,
            DeadLetterExchange = "",
            DeadLetterStrategy = DeadLetterStrategy.AtLeastOnce,
            RejectPublishWhenFull = true,
            MaxLength = 1000,
            InitialGroupSize = 1,
        };
        Assert.Equal("at-least-once", options.ToArguments()["x-dead-letter-strategy"]);
        Assert.Equal("reject-publish", options.ToArguments()["x-overflow"]);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.QueueDeclareQuorumAsync(q, options, Ct);
        // Declaring again with equal arguments is accepted; a different type would be a 406.
        await ch.QueueDeclareQuorumAsync(q, options, Ct);
        Assert.True(ch.IsOpen, $"channel closed: {ch.CloseReason}");
    }
}
