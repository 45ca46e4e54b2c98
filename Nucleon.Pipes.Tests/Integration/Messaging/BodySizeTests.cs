using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

[Collection(BrokerCollection.Name)]
public sealed class BodySizeTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    private const int DefaultFrameMax = 131_072;
    private const int SmallFrameMax = 4096;

    // A body frame carries frame_max - 8 bytes (7 header + 1 end octet): that size fills exactly one frame.
    [Theory]
    [InlineData(DefaultFrameMax, 0)]
    [InlineData(DefaultFrameMax, 1)]
    [InlineData(DefaultFrameMax, DefaultFrameMax - 8)]
    [InlineData(DefaultFrameMax, DefaultFrameMax - 7)]
    [InlineData(DefaultFrameMax, (3 * DefaultFrameMax) + 1)]
    [InlineData(DefaultFrameMax, 16 * 1024 * 1024)]
    [InlineData(SmallFrameMax, 0)]
    [InlineData(SmallFrameMax, 1)]
    [InlineData(SmallFrameMax, SmallFrameMax - 8)]
    [InlineData(SmallFrameMax, SmallFrameMax - 7)]
    [InlineData(SmallFrameMax, (3 * SmallFrameMax) + 1)]
    [InlineData(SmallFrameMax, 1024 * 1024)]
    public async Task Body_round_trips_byte_for_byte_through_consume_and_get(int frameMax, int size)
    {
        var conn = frameMax == DefaultFrameMax ? Conn : await ConnectAsync($"frame_max={frameMax}");
        Assert.Equal((uint)frameMax, conn.CurrentSession!.FrameMax);

        var body = new byte[size];
        new Random(size ^ frameMax).NextBytes(body);
        var q = NewQueue($"body{size}");
        await using var ch = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await ch.QueueDeclareAsync(q, exclusive: true, cancellationToken: Ct);
        await ch.PublishAsync("", q, body, new BasicProperties { MessageId = "consume" }, cancellationToken: Ct);
        await ch.PublishAsync("", q, body, new BasicProperties { MessageId = "get" }, cancellationToken: Ct);

        await using (var consumerChannel = await conn.AllocateChannelAsync(cancellationToken: Ct))
        {
            await foreach (var m in consumerChannel.ConsumeAsync(q, new ConsumeOptions { Prefetch = 1 }, Ct))
            {
                Assert.Equal("consume", m.Properties.MessageId);
                Assert.Equal(size, m.Body.Length);
                Assert.True(body.AsSpan().SequenceEqual(m.Body.Span), $"consumed body of {size} bytes differs");
                await m.AckAsync(cancellationToken: Ct);
                break;
            }
        }

        var got = await ch.GetAsync(q, autoAck: true, cancellationToken: Ct);
        Assert.NotNull(got);
        Assert.Equal("get", got.Value.Properties.MessageId);
        Assert.Equal(size, got.Value.Body.Length);
        Assert.True(body.AsSpan().SequenceEqual(got.Value.Body.Span), $"fetched body of {size} bytes differs");
        Assert.Equal(0u, got.Value.MessageCount);
    }

    // Bodies from 128 KiB on are framed straight from the caller's memory; PublishAsync must still return only
    // once the body is no longer needed, so overwriting the buffer right after it returns changes nothing sent.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Large_body_buffer_may_be_reused_as_soon_as_publish_returns(bool confirms)
    {
        const int size = 4 * 1024 * 1024;
        const int count = 4;
        var q = NewQueue(confirms ? "reuse-confirm" : "reuse-plain");
        await using var ch = await Conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = confirms }, Ct);
        await ch.QueueDeclareAsync(q, exclusive: true, cancellationToken: Ct);
        var buffer = new byte[size];
        for (int i = 0; i < count; i++)
        {
            buffer.AsSpan().Fill((byte)(i + 1));
            await ch.PublishAsync("", q, buffer, cancellationToken: Ct);
            buffer.AsSpan().Fill(0xEE); // would show up in the message if the writer still read it
        }

        await using var consumerChannel = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        int seen = 0;
        await foreach (var m in consumerChannel.ConsumeAsync(q, new ConsumeOptions { Prefetch = 1 }, Ct))
        {
            Assert.Equal(size, m.Body.Length);
            byte expected = (byte)(seen + 1);
            int bad = m.Body.Span.IndexOfAnyExcept(expected);
            Assert.True(bad < 0, $"message {seen}: byte {bad} is 0x{(bad < 0 ? 0 : m.Body.Span[bad]):X2}, expected 0x{expected:X2}");
            await m.AckAsync(cancellationToken: Ct);
            if (++seen == count)
            {
                break;
            }
        }
    }

    // A large publish whose command is dropped unwritten (the connection goes away) ends with an exception,
    // never a hang: the writer releases every queued command, which ends the body's lease. The network is
    // stalled first (a proxy holds every byte), so none of the publishes can be confirmed before the kill.
    [Fact]
    public async Task Large_publishes_fail_promptly_when_the_connection_is_killed()
    {
        await using var proxy = new TcpFaultProxy(Broker.Host, Broker.Port);
        await proxy.StartAsync();
        await using var conn = new AmqpConnection(AmqpConnectionOptions.Parse(Broker.AmqpUri) with
        {
            Endpoints = [new AmqpEndpoint("127.0.0.1", proxy.Port)],
        });
        await conn.ConnectAsync(Ct);
        var q = NewQueue("kill-large");
        await using var ch = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await ch.QueueDeclareAsync(q, cancellationToken: Ct);
        proxy.Stall();
        var body = new byte[8 * 1024 * 1024];
        var publishes = Enumerable.Range(0, 8).Select(_ => ch.PublishAsync("", q, body, cancellationToken: Ct).AsTask()).ToArray();
        conn.CurrentSession!.Abort(new IOException("test: connection killed"));
        foreach (var p in publishes)
        {
            var ex = await Record.ExceptionAsync(() => p.WaitAsync(TimeSpan.FromSeconds(20), Ct));
            Assert.True(ex is AmqpException, $"expected an AmqpException, got {(ex is null ? "success" : ex.ToString())}");
        }

        proxy.Resume(); // lets the reconnect attempt (and the close on dispose) through
    }
}
