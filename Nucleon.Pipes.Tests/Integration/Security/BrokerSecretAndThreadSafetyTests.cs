using System.Collections.Concurrent;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Connection;
using Nucleon.Pipes.Tests.Unit.Security;

namespace Nucleon.Pipes.Tests.Integration.Security;

/// <summary>Secrets on an authentication failure, and channels shared between many tasks, against the real broker.</summary>
[Collection(BrokerCollection.Name)]
public sealed class BrokerSecretAndThreadSafetyTests(BrokerFixture broker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("AMQPLAIN")]
    public async Task Authentication_failure_never_shows_the_password(string mechanism)
    {
        using var cts = new CancellationTokenSource(Timeout);
        string password = SecretTests.NewPassword();
        var options = AmqpConnectionOptions.Parse(broker.AmqpUri) with { Password = password, AuthMechanism = mechanism };
        var reports = new ConcurrentQueue<Exception>();
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });
        conn.OnError((_, ex) =>
        {
            reports.Enqueue(ex);
            return ValueTask.CompletedTask;
        });

        var ex = await Assert.ThrowsAsync<AmqpAuthenticationException>(() => conn.ConnectAsync(cts.Token));
        SecretTests.AssertHidden(password, ex.ToString(), "the authentication exception");
        SecretTests.AssertHidden(password, ex.ReplyText, "the reply text");
        SecretTests.AssertHidden(password, conn.ToString(), "connection.ToString()");
        SecretTests.AssertHidden(password, options.ToString(), "options.ToString()");
        Assert.NotEmpty(reports);
        foreach (var report in reports)
        {
            SecretTests.AssertHidden(password, report.ToString(), "an OnError report");
        }

        var completion = await Assert.ThrowsAnyAsync<Exception>(() => conn.Completion.WaitAsync(cts.Token));
        SecretTests.AssertHidden(password, completion.ToString(), "Completion's exception");
        Assert.IsType<AmqpAuthenticationException>(Assert.Single(log.AttemptFailures));
        SecretTests.AssertHiddenInLog(password, log);
    }

    [Fact]
    public async Task Thirty_two_tasks_share_one_channel_for_confirmed_publishes_acks_and_synchronous_methods()
    {
        const int Tasks = 32;
        const int Rounds = 20;
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        await using var conn = new AmqpConnection(broker.AmqpUri);
        await conn.ConnectAsync(ct);

        string published = BrokerConnectionInfo.UniqueName("nucleon-ts-published");
        string toAck = BrokerConnectionInfo.UniqueName("nucleon-ts-ack");
        await using (var setup = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
        {
            await setup.QueueDeclareAsync(published, autoDelete: false, cancellationToken: ct);
            await setup.QueueDeclareAsync(toAck, autoDelete: false, cancellationToken: ct);
            await Task.WhenAll(Enumerable.Range(0, Tasks * Rounds).Select(i => setup.PublishAsync("", toAck, BitConverter.GetBytes(i), cancellationToken: ct).AsTask()));
        }

        var shared = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct);
        var seen = new ConcurrentDictionary<int, byte>();
        int declares = 0;
        using var start = new ManualResetEventSlim();
        var workers = Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            start.Wait(ct);
            for (int r = 0; r < Rounds; r++)
            {
                await shared.PublishAsync("", published, BitConverter.GetBytes((t * Rounds) + r), cancellationToken: ct);
                var message = await shared.GetAsync(toAck, cancellationToken: ct);
                Assert.NotNull(message);
                Assert.True(seen.TryAdd(BitConverter.ToInt32(message.Value.Body.Span), 0), "A message was fetched twice.");
                await shared.BasicAckAsync(message.Value.DeliveryTag, cancellationToken: ct);
                var ok = await shared.QueueDeclareAsync(published, passive: true, cancellationToken: ct);
                Assert.Equal(published, ok.QueueName);
                Interlocked.Increment(ref declares);
            }
        }, ct)).ToList();
        start.Set();
        await Task.WhenAll(workers).WaitAsync(ct);

        Assert.Equal(Tasks * Rounds, seen.Count);
        Assert.Equal(Tasks * Rounds, declares);
        Assert.True(shared.IsOpen);
        await shared.CloseAsync(ct);

        // Every publish was confirmed into the queue, and every ack reached the broker (nothing requeued on close).
        await using var check = await conn.AllocateChannelAsync(cancellationToken: ct);
        Assert.Equal((uint)(Tasks * Rounds), (await check.QueueDeclareAsync(published, passive: true, cancellationToken: ct)).MessageCount);
        Assert.Equal(0u, (await check.QueueDeclareAsync(toAck, passive: true, cancellationToken: ct)).MessageCount);
        await check.QueueDeleteAsync(published, cancellationToken: ct);
        await check.QueueDeleteAsync(toAck, cancellationToken: ct);
    }

    [Fact]
    public async Task A_second_concurrent_enumeration_of_a_consumer_stream_is_refused_and_the_first_is_unharmed()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        await using var conn = new AmqpConnection(broker.AmqpUri);
        await conn.ConnectAsync(ct);
        string queue = BrokerConnectionInfo.UniqueName("nucleon-ts-consume");
        await using var channel = await conn.AllocateChannelAsync(cancellationToken: ct);
        await channel.QueueDeclareAsync(queue, autoDelete: false, cancellationToken: ct);

        foreach (var stream in new[] { channel.ConsumeAsync(queue, cancellationToken: ct), conn.ConsumeAsync(queue, cancellationToken: ct) })
        {
            await using var first = stream.GetAsyncEnumerator(ct);
            var moving = first.MoveNextAsync().AsTask();

            // From other tasks at the same time: every one refused.
            var others = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Record.Exception(() => stream.GetAsyncEnumerator(ct)), ct)));
            Assert.All(others, e => Assert.IsType<InvalidOperationException>(e));

            await channel.PublishAsync("", queue, "hello"u8.ToArray(), cancellationToken: ct);
            Assert.True(await moving.WaitAsync(ct));
            Assert.Equal("hello"u8.ToArray(), first.Current.Body.ToArray());
            await first.Current.AckAsync(cancellationToken: ct);
        }

        await channel.QueueDeleteAsync(queue, cancellationToken: ct);
    }
}
