using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Connection;

/// <summary>
/// The reader parses frames that lie inside one receive segment straight from its span, and a frame that
/// straddles segments through the sequence. A scripted server writes a stream of deliveries (empty bodies,
/// small ones, bodies of several frames) in chunks of random size, so frames end up cut at every kind of
/// place; every message must arrive whole, in order, with its properties.
/// </summary>
public sealed class ReaderChunkingTests
{
    private const int Messages = 400;

    [Fact]
    public async Task Deliveries_cut_at_random_places_arrive_whole_and_in_order()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        await using var conn = await server.ConnectClientAsync();
        var opening = OpenAsync(conn, ct);
        await server.AnswerChannelOpenAndConsumeAsync();
        var consumer = await opening.WaitAsync(ct);

        byte[] stream = EncodeDeliveries(server.ConsumerTag!);
        var random = new Random(20261204);
        for (int offset = 0; offset < stream.Length;)
        {
            int chunk = Math.Min(stream.Length - offset, random.Next(3) switch { 0 => random.Next(1, 8), 1 => random.Next(8, 600), _ => random.Next(600, 70_000) });
            await server.SendRawAsync(stream.AsMemory(offset, chunk));
            offset += chunk;
        }

        int received = 0;
        await foreach (var message in consumer.Messages.WithCancellation(ct))
        {
            Assert.Equal((ulong)(received + 1), message.DeliveryTag);
            Assert.Equal($"m{received}", message.Properties.CorrelationId);
            Assert.True(Body(received).AsSpan().SequenceEqual(message.Body.Span), $"message {received}: body differs");
            received++;
            if (received == Messages)
            {
                break;
            }
        }

        Assert.Equal(Messages, received);
        Assert.True(conn.IsConnected);
        await server.CloseClientAsync(conn);
    }

    // The channel lives until the connection closes (the scripted server does not answer channel.close).
    private static async Task<AmqpConsumer> OpenAsync(AmqpConnection conn, CancellationToken ct)
    {
        var channel = await conn.AllocateChannelAsync(cancellationToken: ct);
        return await channel.BasicConsumeAsync("q", new ConsumeOptions { Prefetch = Messages }, ct);
    }

    // Empty, small, and multi-frame bodies (frame_max 131,072), each with its own content.
    private static byte[] Body(int i)
    {
        int size = (i % 9) switch { 0 => 0, 1 => 300_000, 2 => 131_064, _ => (i * 37) % 5_000 };
        byte[] body = new byte[size];
        for (int j = 0; j < size; j++)
        {
            body[j] = (byte)(i + j);
        }

        return body;
    }

    private static byte[] EncodeDeliveries(string consumerTag)
    {
        using var all = new MemoryStream();
        for (int i = 0; i < Messages; i++)
        {
            var deliver = new BasicDeliver(consumerTag, (ulong)(i + 1), false, "ex", "key");
            byte[] method = new byte[FrameWriter.MethodFrameSize(deliver)];
            all.Write(method, 0, FrameWriter.WriteMethodFrame(method, 1, deliver));

            byte[] body = Body(i);
            var properties = new BasicProperties { CorrelationId = $"m{i}" };
            byte[] header = new byte[FrameWriter.ContentHeaderFrameSize(properties)];
            all.Write(header, 0, FrameWriter.WriteContentHeaderFrame(header, 1, (ulong)body.Length, properties));
            if (body.Length > 0)
            {
                byte[] frames = new byte[FrameWriter.BodyFramesSize(body.Length, 131_072)];
                all.Write(frames, 0, FrameWriter.WriteBodyFrames(frames, 1, body, 131_072));
            }
        }

        return all.ToArray();
    }
}
