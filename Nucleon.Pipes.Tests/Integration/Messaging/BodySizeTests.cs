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
}
