using Nucleon.Pipes.Tests.Infrastructure;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>Stream queues over AMQP 0-9-1 on the real broker: typed start offsets, each delivery's offset, resuming after a reconnect.</summary>
[Collection(BrokerCollection.Name)]
public sealed class StreamQueueTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    private async Task<string> StreamWithAsync(int count)
    {
        var q = NewQueue("stream");
        await using var ch = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await ch.QueueDeclareStreamAsync(q, new StreamQueueOptions { MaxLengthBytes = 10_000_000, MaxAge = TimeSpan.FromHours(1) }, Ct);
        for (int i = 0; i < count; i++)
        {
            await ch.PublishAsync("", q, Body(i), cancellationToken: Ct);
        }

        return q;
    }

    private async Task<List<(long Offset, long Id)>> ReadAsync(AmqpConnection conn, string q, StreamOffset from, int count)
    {
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: Ct);
        var read = new List<(long, long)>();
        await foreach (var m in ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 50, StreamOffset = from }, Ct))
        {
            read.Add((m.StreamOffset ?? -1, Id(m.Body)));
            await m.AckAsync(cancellationToken: Ct);
            if (read.Count == count)
            {
                break;
            }
        }

        return read;
    }

    [Fact]
    public async Task First_an_offset_and_a_timestamp_start_where_they_say_and_each_delivery_carries_its_offset()
    {
        var q = await StreamWithAsync(10);
        var all = await ReadAsync(Conn, q, StreamOffset.First, 10);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), all.Select(r => r.Id));
        Assert.Equal(all.Select(r => r.Offset).Order(), all.Select(r => r.Offset));
        Assert.Equal(10, all.Select(r => r.Offset).Distinct().Count());

        long sixth = all[5].Offset;
        var fromSixth = await ReadAsync(Conn, q, StreamOffset.At(sixth), 5);
        Assert.Equal(all.Skip(5), fromSixth);

        var fromTime = await ReadAsync(Conn, q, StreamOffset.From(DateTimeOffset.UtcNow.AddMinutes(-5)), 10);
        Assert.Equal(all, fromTime);
    }

    [Fact]
    public async Task Next_sees_only_later_messages_and_last_starts_in_the_last_chunk()
    {
        var q = await StreamWithAsync(3);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        await using var next = ch.ConsumeAsync(q, new ConsumeOptions { Prefetch = 10, StreamOffset = StreamOffset.Next }).GetAsyncEnumerator(Ct);
        var first = next.MoveNextAsync().AsTask();
        await AssertStaysPendingAsync(first, "a 'next' consumer before anything new was written");
        await using (var pub = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct))
        {
            await pub.PublishAsync("", q, Body(100), cancellationToken: Ct);
        }

        Assert.True(await first);
        Assert.Equal(100, Id(next.Current.Body));

        var last = await ReadAsync(Conn, q, StreamOffset.Last, 1);
        Assert.Contains(last[0].Id, new long[] { 0, 1, 2, 100 });
    }

    [Fact]
    public async Task Streams_refuse_auto_ack_and_prefetch_0_before_subscribing()
    {
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        Assert.Throws<ArgumentException>(() => ch.ConsumeAsync("s", new ConsumeOptions { AutoAck = true, StreamOffset = StreamOffset.First }));
        Assert.Throws<ArgumentException>(() => ch.ConsumeAsync("s", new ConsumeOptions { Prefetch = 0, StreamOffset = StreamOffset.First }));
        Assert.Throws<ArgumentOutOfRangeException>(() => StreamOffset.At(-1));
    }

    [Fact]
    public async Task A_connection_level_consumer_resumes_after_a_cut_at_the_first_offset_it_had_not_settled()
    {
        const int count = 20;
        var q = await StreamWithAsync(count);
        await using var proxy = new TcpFaultProxy(Broker.Host, Broker.Port);
        await proxy.StartAsync();
        await using var conn = new AmqpConnection(ViaProxy(Broker, proxy, "stream-resume"));
        await conn.ConnectAsync(Ct);
        await using var stream = conn.ConsumeAsync(q, new ConsumeOptions { Prefetch = 10, StreamOffset = StreamOffset.First }).GetAsyncEnumerator(Ct);
        var beforeCut = new List<Message>();
        for (int i = 0; i < 8; i++)
        {
            Assert.True(await stream.MoveNextAsync());
            beforeCut.Add(stream.Current);
        }

        // Settled out of order, as concurrent handlers would: 0-4 and 6; 5 and 7 not.
        foreach (int i in new[] { 0, 2, 1, 6, 4, 3 })
        {
            await beforeCut[i].AckAsync(cancellationToken: Ct);
        }

        proxy.CutAll();
        await WaitUntilAsync(() => conn.Generation >= 2 && conn.IsConnected, TimeSpan.FromSeconds(30), () => $"reconnect (generation {conn.Generation})");
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(5, Id(stream.Current.Body)); // not 0: resumed, not restarted; not 8: 5 was never settled
        var ids = new List<long> { Id(stream.Current.Body) };
        await stream.Current.AckAsync(cancellationToken: Ct);
        while (ids[^1] != count - 1)
        {
            Assert.True(await stream.MoveNextAsync());
            ids.Add(Id(stream.Current.Body));
            await stream.Current.AckAsync(cancellationToken: Ct);
        }

        Assert.Equal(Enumerable.Range(5, count - 5).Select(i => (long)i), ids);
    }
}
