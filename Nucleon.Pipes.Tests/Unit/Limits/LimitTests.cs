using System.Threading.Channels;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Unit.Hostile;

namespace Nucleon.Pipes.Tests.Unit.Limits;

/// <summary>
/// Client-side limits and argument checks, against the scripted server so that what is (not) sent can be
/// observed frame by frame: a refused argument sends nothing and leaves the channel usable.
/// </summary>
[Collection(HostileCollection.Name)]
public sealed class LimitTests(UnhandledExceptionMonitor monitor)
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(15);
    private static readonly string Long256 = new('n', 256);

    // Two-byte characters: 128 of them are 256 bytes of UTF-8 though only 128 chars.
    private static readonly string LongUtf8 = new('é', 128);

    [Fact]
    public async Task Publish_above_MaxMessageSize_is_refused_naming_the_body_and_sends_nothing()
    {
        await using var rig = await Rig.StartAsync(o => o with { MaxMessageSize = 1024 });
        var channel = await rig.OpenChannelAsync();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => channel.PublishAsync("ex", "rk", new byte[1025]).AsTask());
        Assert.Equal("body", ex.ParamName);
        Assert.Contains("MaxMessageSize", ex.Message, StringComparison.Ordinal);

        // Exactly the limit passes, and it is the next thing the server sees.
        await channel.PublishAsync("ex", "rk", new byte[1024]);
        var (ch, id, payload) = await rig.Server.ReadAnyMethodAsync();
        Assert.Equal((ushort)1, ch);
        Assert.Equal(MethodIds.BasicPublish, id);
        Assert.Equal("ex", MethodFrame.Decode<BasicPublish>(payload).Exchange);
        Assert.True(channel.IsOpen);
        await rig.FinishAsync(monitor);
    }

    [Fact]
    public async Task Delivery_announced_above_MaxMessageSize_is_refused_with_501_before_allocating()
    {
        await using var rig = await Rig.StartAsync(o => o with { MaxMessageSize = 1024 * 1024 });
        var channel = await rig.OpenChannelAsync();
        var consumer = channel.BasicConsumeAsync("q", new ConsumeOptions { Prefetch = 1 }, rig.Token);
        await rig.Server.ReadMethodAsync(1, MethodIds.BasicQos);
        await rig.Server.SendMethodAsync(1, new BasicQosOk());
        var consume = MethodFrame.Decode<BasicConsume>(await rig.Server.ReadMethodAsync(1, MethodIds.BasicConsume));
        await rig.Server.SendMethodAsync(1, new BasicConsumeOk(consume.ConsumerTag));
        await consumer.WaitAsync(rig.Token);

        long before = GC.GetTotalAllocatedBytes(precise: true);
        await rig.Server.SendMethodAsync(1, new BasicDeliver(consume.ConsumerTag, 1, false, "", "q"));
        // 64 MiB announced, 1 MiB allowed: refused on the header alone.
        await rig.Server.SendFrameAsync(AmqpConstants.FrameHeader, 1, HostileServerTests.ContentHeaderPayload(64UL * 1024 * 1024, 0, []));

        var close = await rig.Server.ReadConnectionCloseAsync();
        Assert.Equal(AmqpReplyCode.FrameError, close.ReplyCode);
        Assert.Contains("MaxMessageSize", close.ReplyText, StringComparison.Ordinal);
        var reported = await rig.Errors.Reader.ReadAsync(rig.Token);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(AmqpReplyCode.FrameError, Assert.IsType<AmqpProtocolException>(reported).ReplyCode);
        Assert.True(allocated < 10L * 1024 * 1024, $"{allocated} bytes allocated for a refused 64 MiB delivery.");
        monitor.AssertNone();
    }

    [Fact]
    public async Task Names_over_255_bytes_are_refused_naming_the_argument_before_anything_is_sent()
    {
        await using var rig = await Rig.StartAsync();
        var channel = await rig.OpenChannelAsync();

        var cases = new (string Param, Func<Task> Call)[]
        {
            ("queue", () => channel.QueueDeclareAsync(Long256)),
            ("queue", () => channel.QueueDeclareAsync(LongUtf8)),
            ("queue", () => channel.QueueDeleteAsync(Long256)),
            ("queue", () => channel.QueuePurgeAsync(Long256)),
            ("queue", () => channel.QueueBindAsync(Long256, "ex", "rk")),
            ("exchange", () => channel.QueueBindAsync("q", Long256, "rk")),
            ("routingKey", () => channel.QueueBindAsync("q", "ex", Long256)),
            ("routingKey", () => channel.QueueUnbindAsync("q", "ex", LongUtf8)),
            ("exchange", () => channel.ExchangeDeclareAsync(Long256)),
            ("exchange", () => channel.ExchangeDeleteAsync(Long256)),
            ("destination", () => channel.ExchangeBindAsync(Long256, "src", "rk")),
            ("source", () => channel.ExchangeUnbindAsync("dst", Long256, "rk")),
            ("exchange", () => channel.PublishAsync(Long256, "rk", new byte[1]).AsTask()),
            ("routingKey", () => channel.PublishAsync("ex", LongUtf8, new byte[1]).AsTask()),
            ("queue", () => channel.BasicGetAsync(Long256)),
            ("queue", () => channel.BasicConsumeAsync(Long256)),
            ("options.ConsumerTag", () => channel.BasicConsumeAsync("q", new ConsumeOptions { ConsumerTag = Long256 })),
            ("consumerTag", () => channel.BasicCancelAsync(Long256)),
            ("queue", () => Enumerate(channel.ConsumeAsync(Long256))),
            ("options.ConsumerTag", () => Enumerate(channel.ConsumeAsync("q", new ConsumeOptions { ConsumerTag = LongUtf8 }))),
            ("queue", () => Enumerate(rig.Connection.ConsumeAsync(Long256))),
            ("queue", () => channel.QueueDeclareAsync(null!)),
            ("exchange", () => channel.PublishAsync(null!, "rk", new byte[1]).AsTask()),
        };

        foreach (var (param, call) in cases)
        {
            var ex = await Assert.ThrowsAnyAsync<ArgumentException>(call);
            Assert.Equal(param, ex.ParamName);
            Assert.True(channel.IsOpen, $"The channel closed after refusing {param}.");
        }

        // 255 bytes exactly is fine, and nothing was sent before it.
        await AssertNextRequestIsAnsweredAsync(rig, channel, new string('n', 255));
        await rig.FinishAsync(monitor);
    }

    [Fact]
    public async Task Invalid_exchange_types_are_refused_and_plugin_types_accepted()
    {
        await using var rig = await Rig.StartAsync();
        var channel = await rig.OpenChannelAsync();

        // RabbitMQ closes the whole connection (503 COMMAND_INVALID) on an unknown type, such as "topi".
        foreach (string type in new[] { "", "Direct", "x delayed", "fan/out", "tópico", "topic\0", new string('x', 256), "topi", "x-", "x_local.random", "x-Delayed" })
        {
            // With the rig's token, a type sent instead of refused fails the test (cancelled) rather than hanging it.
            var ex = await Assert.ThrowsAnyAsync<ArgumentException>(() => channel.ExchangeDeclareAsync("e", type, cancellationToken: rig.Token));
            Assert.Equal("type", ex.ParamName);
        }

        var nullType = await Assert.ThrowsAnyAsync<ArgumentException>(() => channel.ExchangeDeclareAsync("e", null!));
        Assert.Equal("type", nullType.ParamName);

        foreach (string type in new[] { ExchangeType.Direct, ExchangeType.Fanout, ExchangeType.Topic, ExchangeType.Headers, "x-delayed-message", "x-consistent-hash", "x-modulus-hash", "x-local.random_2" })
        {
            var declare = channel.ExchangeDeclareAsync("e", type, cancellationToken: rig.Token);
            var sent = MethodFrame.Decode<ExchangeDeclare>(await rig.Server.ReadMethodAsync(1, MethodIds.ExchangeDeclare));
            Assert.Equal(type, sent.Type);
            await rig.Server.SendMethodAsync(1, new ExchangeDeclareOk());
            await declare.WaitAsync(rig.Token);
        }

        Assert.True(channel.IsOpen);
        await rig.FinishAsync(monitor);
    }

    [Fact]
    public async Task MaxOutstandingConfirms_makes_the_fifth_publish_wait_for_a_confirm()
    {
        await using var rig = await Rig.StartAsync(o => o with { MaxOutstandingConfirms = 4 });
        var open = rig.Connection.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, rig.Token);
        await rig.Server.AnswerConfirmChannelOpenAsync(1);
        var channel = await open.WaitAsync(rig.Token);

        var publishes = Enumerable.Range(1, 5).Select(i => channel.PublishAsync("", "q", new[] { (byte)i }, cancellationToken: rig.Token).AsTask()).ToList();
        for (int i = 1; i <= 4; i++)
        {
            var (_, id, _) = await rig.Server.ReadAnyMethodAsync();
            Assert.Equal(MethodIds.BasicPublish, id);
        }

        // The fifth waits for room in the confirm window: nothing more arrives.
        var fifth = rig.Server.ReadAnyMethodAsync();
        await Task.Delay(300, rig.Token);
        Assert.False(fifth.IsCompleted, "A fifth publish was sent with four unconfirmed.");
        Assert.All(publishes, p => Assert.False(p.IsCompleted));

        await rig.Server.SendMethodAsync(1, new BasicAck(1, false));
        var (_, fifthId, _) = await fifth.WaitAsync(rig.Token);
        Assert.Equal(MethodIds.BasicPublish, fifthId);
        await publishes[0].WaitAsync(rig.Token);

        await rig.Server.SendMethodAsync(1, new BasicAck(5, true));
        await Task.WhenAll(publishes).WaitAsync(rig.Token);
        await rig.FinishAsync(monitor);
    }

    [Fact]
    public async Task A_publish_cancelled_while_it_waits_its_turn_leaves_the_line_and_the_ones_behind_it_go_in_order()
    {
        await using var rig = await Rig.StartAsync(o => o with { MaxOutstandingConfirms = 2 });
        var open = rig.Connection.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, rig.Token);
        await rig.Server.AnswerConfirmChannelOpenAsync(1);
        var channel = await open.WaitAsync(rig.Token);
        using var third = CancellationTokenSource.CreateLinkedTokenSource(rig.Token);

        // 1 and 2 fill the window; 3 waits at the head of the line, 4 and 5 behind it.
        var publishes = Enumerable.Range(1, 5)
            .Select(i => channel.PublishAsync("", "q", new[] { (byte)i }, cancellationToken: i == 3 ? third.Token : rig.Token).AsTask())
            .ToList();
        Assert.Equal(1, await NextBodyAsync(rig));
        Assert.Equal(2, await NextBodyAsync(rig));

        third.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => publishes[2]).WaitAsync(rig.Token);
        await rig.Server.SendMethodAsync(1, new BasicAck(2, true));
        Assert.Equal(4, await NextBodyAsync(rig));
        Assert.Equal(5, await NextBodyAsync(rig));
        await rig.Server.SendMethodAsync(1, new BasicAck(4, true));
        await Task.WhenAll(publishes[0], publishes[1], publishes[3], publishes[4]).WaitAsync(rig.Token);
        await rig.FinishAsync(monitor);
    }

    // The first byte of the next message body the client sends.
    private static async Task<byte> NextBodyAsync(Rig rig)
    {
        while (true)
        {
            var (type, _, payload) = await rig.Server.ReadFrameAsync();
            if (type == AmqpConstants.FrameBody)
            {
                return payload[0];
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private static async Task Enumerate(IAsyncEnumerable<Message> messages)
    {
        await foreach (var _ in messages)
        {
            break;
        }
    }

    private static async Task AssertNextRequestIsAnsweredAsync(Rig rig, AmqpChannel channel, string queue)
    {
        var declare = channel.QueueDeclareAsync(queue, passive: true, cancellationToken: rig.Token);
        var sent = MethodFrame.Decode<QueueDeclare>(await rig.Server.ReadMethodAsync(1, MethodIds.QueueDeclare));
        Assert.Equal(queue, sent.Queue);
        await rig.Server.SendMethodAsync(1, new QueueDeclareOk(queue, 0, 0));
        Assert.Equal(queue, (await declare.WaitAsync(rig.Token)).QueueName);
    }

    /// <summary>A connected client and scripted server.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cts;

        private Rig(CancellationTokenSource cts, ScriptedAmqpServer server, AmqpConnection connection)
        {
            _cts = cts;
            Server = server;
            Connection = connection;
        }

        public ScriptedAmqpServer Server { get; }

        public AmqpConnection Connection { get; }

        public Channel<Exception> Errors { get; } = System.Threading.Channels.Channel.CreateUnbounded<Exception>();

        public CancellationToken Token => _cts.Token;

        public static async Task<Rig> StartAsync(Func<AmqpConnectionOptions, AmqpConnectionOptions>? configure = null)
        {
            var cts = new CancellationTokenSource(TestTimeout);
            var server = new ScriptedAmqpServer(cts.Token);
            var options = new AmqpConnectionOptions
            {
                Endpoints = [new AmqpEndpoint("127.0.0.1", server.Port)],
                InitialConnectTimeout = TimeSpan.FromSeconds(10),
                Heartbeat = TimeSpan.Zero,
                ReconnectInitialDelay = TimeSpan.FromSeconds(30),
                ReconnectMaxDelay = TimeSpan.FromSeconds(30),
            };
            var rig = new Rig(cts, server, new AmqpConnection(configure?.Invoke(options) ?? options));
            rig.Connection.OnError((_, ex) =>
            {
                rig.Errors.Writer.TryWrite(ex);
                return ValueTask.CompletedTask;
            });
            rig.Connection.ConnectionLost += (_, e) => rig.Errors.Writer.TryWrite(e.Cause);
            var handshake = server.AcceptAndHandshakeAsync();
            await rig.Connection.ConnectAsync(rig.Token);
            await handshake.WaitAsync(rig.Token);
            return rig;
        }

        public async Task<MessageChannel> OpenChannelAsync()
        {
            var open = Connection.AllocateChannelAsync(cancellationToken: Token);
            await Server.AnswerChannelOpenAsync(1);
            return await open.WaitAsync(Token);
        }

        /// <summary>Closes cleanly (the server answers close-ok) and checks nothing escaped.</summary>
        public async Task FinishAsync(UnhandledExceptionMonitor monitor)
        {
            var closing = Connection.CloseAsync(Token);
            var close = await Server.ReadConnectionCloseAsync();
            Assert.Equal(AmqpReplyCode.Success, close.ReplyCode);
            await Server.SendMethodAsync(0, new ConnectionCloseOk());
            await closing.WaitAsync(Token);
            Assert.False(Errors.Reader.TryRead(out var error), $"Unexpected error report: {error}");
            monitor.AssertNone();
        }

        public async ValueTask DisposeAsync()
        {
            await Connection.DisposeAsync();
            await Server.DisposeAsync();
            _cts.Dispose();
        }
    }
}
