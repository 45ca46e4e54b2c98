using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Connection;

[Collection(BrokerCollection.Name)]
public sealed class ChannelPoolingTests(BrokerFixture broker)
{
    private const int Renters = 1000;

    [Fact]
    public async Task A_thousand_concurrent_renters_share_pooled_channels_within_channel_max()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = cts.Token;
        string queue = BrokerConnectionInfo.UniqueName("nucleon-pool-q");
        // The pool keeps every returned channel, so a second round can be served without channel.open.
        var options = AmqpConnectionOptions.Parse(broker.AmqpUri) with { ChannelPoolSize = 1024 };
        await using var conn = new AmqpConnection(options);
        await conn.ConnectAsync(ct);
        var session = conn.CurrentSession!;
        Assert.Equal(2047, session.ChannelMax);

        await using (var setup = await conn.AllocateChannelAsync(cancellationToken: ct))
        {
            await setup.QueueDeclareAsync(queue, exclusive: true, cancellationToken: ct);
        }

        int maxOpen = 0;
        async Task RentOnceAsync()
        {
            await using var ch = await conn.RentChannelAsync(cancellationToken: ct);
            int open = session.OpenChannelCount;
            int seen;
            while (open > (seen = Volatile.Read(ref maxOpen)) && Interlocked.CompareExchange(ref maxOpen, open, seen) != seen)
            {
            }

            var ok = await ch.QueueDeclareAsync(queue, passive: true, cancellationToken: ct);
            Assert.Equal(queue, ok.QueueName);
        }

        int before = Volatile.Read(ref session.ChannelOpenCount);
        await Task.WhenAll(Enumerable.Range(0, Renters).Select(_ => Task.Run(RentOnceAsync, ct)));
        int firstRound = Volatile.Read(ref session.ChannelOpenCount) - before;

        await Task.WhenAll(Enumerable.Range(0, Renters).Select(_ => Task.Run(RentOnceAsync, ct)));
        int secondRound = Volatile.Read(ref session.ChannelOpenCount) - before - firstRound;

        Assert.InRange(firstRound, 1, Renters);
        Assert.True(secondRound < Renters / 10, $"The second round opened {secondRound} channels (first round {firstRound}); pooled channels should be reused.");
        Assert.InRange(Volatile.Read(ref maxOpen), 1, session.ChannelMax);
        Assert.InRange(session.OpenChannelCount, 0, session.ChannelMax);
        Assert.Same(session, conn.CurrentSession);
        Assert.Equal(1, conn.Generation);
    }

    [Fact]
    public async Task Renters_beyond_channel_max_wait_for_a_pooled_channel_instead_of_failing()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = cts.Token;
        await using var conn = new AmqpConnection(BrokerConnectionInfo.Uri(broker, "channel_max=50"));
        await conn.ConnectAsync(ct);
        var session = conn.CurrentSession!;
        Assert.Equal(50, session.ChannelMax);

        int maxOpen = 0;
        int done = 0;
        async Task RentOnceAsync()
        {
            await using var ch = await conn.RentChannelAsync(cancellationToken: ct);
            int open = session.OpenChannelCount;
            int seen;
            while (open > (seen = Volatile.Read(ref maxOpen)) && Interlocked.CompareExchange(ref maxOpen, open, seen) != seen)
            {
            }

            Assert.InRange(ch.ChannelNumber, 1, 50);
            await ch.ExchangeDeclareAsync("amq.direct", ExchangeType.Direct, durable: true, passive: true, cancellationToken: ct);
            Interlocked.Increment(ref done);
        }

        await Task.WhenAll(Enumerable.Range(0, Renters).Select(_ => Task.Run(RentOnceAsync, ct)));

        Assert.Equal(Renters, Volatile.Read(ref done));
        Assert.InRange(Volatile.Read(ref maxOpen), 1, 50);
        Assert.InRange(Volatile.Read(ref session.ChannelOpenCount), 1, 50);
        Assert.True(conn.IsConnected);
    }
}
