using System.Text;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Connection;

[Collection(BrokerCollection.Name)]
public sealed class BlockedConnectionTests(BrokerFixture broker)
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Memory_alarm_blocks_publishing_until_it_clears()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = cts.Token;
        string name = BrokerConnectionInfo.UniqueName("nucleon-blocked");
        string queue = BrokerConnectionInfo.UniqueName("nucleon-blocked-q");
        var blocked = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var unblocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        await using var conn = new AmqpConnection(BrokerConnectionInfo.Uri(broker, $"connection_name={name}"));
        conn.Blocked += (_, e) => blocked.TrySetResult(e.Reason);
        conn.Unblocked += (_, _) => unblocked.TrySetResult();
        await conn.ConnectAsync(ct);

        await using var confirming = await conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct);
        await confirming.QueueDeclareAsync(queue, exclusive: true, cancellationToken: ct);
        await using var plain = await conn.AllocateChannelAsync(cancellationToken: ct);
        Assert.False(conn.IsBlocked);

        Task? pending = null;
        bool restored = false;
        try
        {
            await broker.SetVmMemoryHighWatermarkAsync(0.0000001);

            // RabbitMQ blocks a connection when it publishes during an alarm: publish until it does.
            int triggers = 0;
            while (!blocked.Task.IsCompleted)
            {
                Assert.True(triggers < 100, "The broker never sent connection.blocked.");
                await plain.PublishAsync("", queue, Encoding.UTF8.GetBytes($"trigger {triggers++}"), cancellationToken: ct);
                await Task.WhenAny(blocked.Task, Task.Delay(200, ct));
            }

            string reason = await blocked.Task;
            Assert.Contains("memory", reason, StringComparison.OrdinalIgnoreCase);
            Assert.True(conn.IsBlocked);
            Assert.False(unblocked.Task.IsCompleted);

            pending = confirming.PublishAsync("", queue, Encoding.UTF8.GetBytes("while blocked"), cancellationToken: ct).AsTask();
            var first = await Task.WhenAny(pending, Task.Delay(TimeSpan.FromSeconds(1.5), ct));
            Assert.NotSame(pending, first);
            Assert.False(pending.IsCompleted, "A publish completed while the connection was blocked.");

            await broker.SetVmMemoryHighWatermarkAsync(0.4);
            restored = true;
            await unblocked.Task.WaitAsync(EventTimeout, ct);
            Assert.False(conn.IsBlocked);

            await pending.WaitAsync(EventTimeout, ct);
            Assert.True(pending.IsCompletedSuccessfully);

            // The confirmed message is in the queue, after the triggers.
            var count = await confirming.QueueDeclareAsync(queue, passive: true, cancellationToken: ct);
            Assert.Equal((uint)triggers + 1, count.MessageCount);
            Assert.True(conn.IsConnected);
        }
        finally
        {
            if (!restored)
            {
                await broker.SetVmMemoryHighWatermarkAsync(0.4);
            }
        }
    }
}
