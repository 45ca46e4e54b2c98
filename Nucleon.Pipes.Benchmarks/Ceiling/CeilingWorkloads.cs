using System.Buffers.Binary;
using Nucleon.Pipes.Benchmarks.E2E;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Benchmarks.Ceiling;

/// <summary>
/// The ceiling: what this machine and this server allow, with no client library in the way. A raw blocking socket
/// does the real handshake; then every frame the timed loop sends was encoded before the clock started (copies of
/// one publish back to back in a 1 MiB buffer, one send per buffer; a basic.ack template whose delivery tag is
/// patched in place), and incoming frames are parsed in place in a 1 MiB receive buffer. It runs the e2e rows
/// publish, publish-confirm, consume and consume-autoack with the same counts, queues and limits as the clients
/// (≤ 1,000 confirms outstanding; prefetch 1,000 and ack(multiple) every 100), and no others.
/// </summary>
internal sealed class CeilingWorkloads : IClientWorkloads
{
    public const string ClientName = "Ceiling";

    private const ushort Channel = 1;
    private const int ConfirmWindow = 1000;
    private const ushort Prefetch = 1000;
    private const int AckEvery = 100;

    public string Name => ClientName;

    public static bool Supports(string workload) => workload is "publish" or "publish-confirm" or "consume" or "consume-autoack";

    public async Task<List<(string Row, Sample Sample)>> RunAsync(string workload, BenchContext ctx)
    {
        var result = new List<(string, Sample)>();
        if (!Supports(workload))
        {
            return result;
        }

        if (workload.StartsWith("consume", StringComparison.Ordinal))
        {
            await ctx.FillAsync(ctx.ConsumeQueue(ctx.ConsumeCount, 32), ctx.ConsumeCount, BenchContext.Body32);
        }

        using var conn = CeilingConnection.Open(ctx.Uri);
        Func<Outcome> body = workload switch
        {
            "publish" => Publish(conn, ctx.PublishCount),
            "publish-confirm" => PublishConfirm(conn, ctx.ConfirmCount),
            _ => Consume(conn, ctx.ConsumeQueue(ctx.ConsumeCount, 32), ctx.ConsumeCount, autoAck: workload == "consume-autoack"),
        };
        // Blocking socket calls: a thread of its own, not a pool thread.
        result.Add((workload, await Meter.RunAsync(ctx.ServerPid, () =>
            Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))));
        conn.Close();
        return result;
    }

    /// <summary>
    /// <paramref name="count"/> copies of one 32-byte publish to the bench queue (method, header and body frames),
    /// back to back; <paramref name="perMessage"/> is the size of one copy.
    /// </summary>
    private static byte[] EncodePublishes(int count, int frameMax, out int perMessage)
    {
        var publish = new BasicPublish("", BenchContext.PublishQueue, false, false);
        byte[] body = BenchContext.Body32;
        perMessage = FrameWriter.MethodFrameSize(publish) + FrameWriter.ContentHeaderFrameSize(null) + FrameWriter.BodyFramesSize(body.Length, frameMax);
        byte[] buffer = new byte[count * perMessage];
        for (int i = 0, at = 0; i < count; i++)
        {
            at += FrameWriter.WriteMethodFrame(buffer.AsSpan(at), Channel, publish);
            at += FrameWriter.WriteContentHeaderFrame(buffer.AsSpan(at), Channel, (ulong)body.Length, null);
            at += FrameWriter.WriteBodyFrames(buffer.AsSpan(at), Channel, body, frameMax);
        }

        return buffer;
    }

    private static byte[] EncodeMethod<T>(in T method) where T : struct, IAmqpMethod<T>
    {
        byte[] frame = new byte[FrameWriter.MethodFrameSize(method)];
        FrameWriter.WriteMethodFrame(frame, Channel, method);
        return frame;
    }

    /// <summary>Publishes in 1 MiB sends, then one queue.declare round trip, as the clients' row does.</summary>
    private static Func<Outcome> Publish(CeilingConnection conn, int n)
    {
        int perBuffer = CeilingConnection.BufferSize / EncodePublishes(1, (int)conn.FrameMax, out _).Length;
        byte[] buffer = EncodePublishes(perBuffer, (int)conn.FrameMax, out int per);
        byte[] declare = EncodeMethod(new QueueDeclare(BenchContext.PublishQueue, true, false, false, false, false, null));
        return () =>
        {
            for (int left = n; left > 0;)
            {
                int k = Math.Min(left, perBuffer);
                conn.Send(buffer.AsSpan(0, k * per));
                left -= k;
            }

            conn.Send(declare);
            conn.ExpectMethod(Channel, MethodIds.QueueDeclareOk);
            return new Outcome(n, 32L * n);
        };
    }

    /// <summary>
    /// Keeps up to 1,000 publishes unconfirmed: sends as many as the window allows in one send, then reads whatever
    /// has arrived and counts the acks. RabbitMQ confirms in order on one queue, so a single ack confirms one more
    /// and a multiple ack confirms up to its tag.
    /// </summary>
    private static Func<Outcome> PublishConfirm(CeilingConnection conn, int n)
    {
        conn.Call(Channel, new ConfirmSelect(false), MethodIds.ConfirmSelectOk);
        byte[] window = EncodePublishes(ConfirmWindow, (int)conn.FrameMax, out int per);
        return () =>
        {
            long sent = 0, confirmed = 0;
            while (confirmed < n)
            {
                long room = Math.Min(ConfirmWindow - (sent - confirmed), n - sent);
                if (room > 0)
                {
                    conn.Send(window.AsSpan(0, (int)room * per));
                    sent += room;
                }

                conn.Receive();
                while (conn.TryReadFrame(out var frame))
                {
                    if (frame.Type != AmqpConstants.FrameMethod)
                    {
                        continue;
                    }

                    uint id = frame.MethodKey;
                    if (id == MethodIds.BasicAck)
                    {
                        long tag = (long)BinaryPrimitives.ReadUInt64BigEndian(frame.Payload[4..]);
                        bool multiple = (frame.Payload[12] & 1) != 0;
                        confirmed = multiple ? Math.Max(confirmed, tag) : confirmed + 1;
                    }
                    else if (id == MethodIds.BasicNack)
                    {
                        throw new InvalidOperationException("ceiling client: a publish was nacked");
                    }
                    else
                    {
                        CeilingConnection.ThrowIfClose(id, frame);
                    }
                }
            }

            return new Outcome(n, 32L * n);
        };
    }

    /// <summary>
    /// basic.qos and basic.consume, then reads: each body frame is one message (32-byte bodies fit one frame); with
    /// manual acks every 100th message gets a basic.ack(multiple) from the template, and the acks of one read go out
    /// in one send.
    /// </summary>
    private static Func<Outcome> Consume(CeilingConnection conn, string queue, int n, bool autoAck)
    {
        byte[] ack = EncodeMethod(new BasicAck(0, true));
        const int TagAt = AmqpConstants.FrameHeaderSize + 4;
        byte[] acks = new byte[64 * 1024];
        return () =>
        {
            if (!autoAck)
            {
                conn.Call(Channel, new BasicQos(0, Prefetch, false), MethodIds.BasicQosOk);
            }

            conn.Call(Channel, new BasicConsume(queue, "ceiling", false, autoAck, false, false, null), MethodIds.BasicConsumeOk);
            long got = 0;
            ulong tag = 0;
            while (got < n)
            {
                int pending = 0;
                while (conn.TryReadFrame(out var frame))
                {
                    if (frame.Type == AmqpConstants.FrameBody)
                    {
                        got++;
                        if (!autoAck && (got % AckEvery == 0 || got == n))
                        {
                            var slot = acks.AsSpan(pending, ack.Length);
                            ack.CopyTo(slot);
                            BinaryPrimitives.WriteUInt64BigEndian(slot[TagAt..], tag);
                            pending += ack.Length;
                            if (pending + ack.Length > acks.Length)
                            {
                                conn.Send(acks.AsSpan(0, pending));
                                pending = 0;
                            }
                        }
                    }
                    else if (frame.Type == AmqpConstants.FrameMethod)
                    {
                        uint id = frame.MethodKey;
                        if (id == MethodIds.BasicDeliver)
                        {
                            // class, method, consumer-tag (short string), then the delivery tag.
                            tag = BinaryPrimitives.ReadUInt64BigEndian(frame.Payload[(5 + frame.Payload[4])..]);
                        }
                        else
                        {
                            CeilingConnection.ThrowIfClose(id, frame);
                        }
                    }
                }

                if (pending > 0)
                {
                    conn.Send(acks.AsSpan(0, pending));
                }

                if (got < n)
                {
                    conn.Receive();
                }
            }

            return new Outcome(got, 32L * got);
        };
    }
}
