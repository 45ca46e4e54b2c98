using System.Collections.Concurrent;
using System.Text;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Connection;

[Collection(BrokerCollection.Name)]
public sealed class ConnectionLifecycleTests(BrokerFixture broker)
{
    private static readonly TimeSpan Timeout = BrokerFixture.CtlTestTimeout;

    [Fact]
    public async Task Hooks_run_in_order_and_are_awaited_before_ConnectAsync_returns()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string queue = BrokerConnectionInfo.UniqueName("nucleon-hooks");
        var order = new ConcurrentQueue<string>();
        string? gotBack = null;

        await using var conn = new AmqpConnection(broker.AmqpUri);
        conn.OnConnect(async (c, token) =>
        {
            order.Enqueue("first:start");
            await Task.Delay(50, token); // a hook that is really asynchronous must still be awaited
            order.Enqueue("first:end");
        });
        conn.OnConnect(async (c, token) =>
        {
            order.Enqueue("second:start");
            // A confirm-mode channel: once the publish is confirmed the message is in the queue.
            await using var ch = await c.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, token);
            await ch.QueueDeclareAsync(queue, exclusive: true, cancellationToken: token);
            await ch.PublishAsync("", queue, Encoding.UTF8.GetBytes("from the hook"), cancellationToken: token);
            var m = await ch.GetAsync(queue, autoAck: true, cancellationToken: token);
            Assert.NotNull(m);
            gotBack = Encoding.UTF8.GetString(m.Value.Body.Span);
            order.Enqueue("second:end");
        });
        conn.OnConnect((c, token) =>
        {
            order.Enqueue("third");
            return Task.CompletedTask;
        });

        await conn.ConnectAsync(ct);

        Assert.Equal(["first:start", "first:end", "second:start", "second:end", "third"], order.ToArray());
        Assert.Equal("from the hook", gotBack);
        Assert.True(conn.IsConnected);
        Assert.Equal(1, conn.Generation);
        Assert.False(conn.Completion.IsCompleted);

        await conn.CloseAsync(ct);
        await conn.Completion.WaitAsync(ct);
        Assert.True(conn.Completion.IsCompletedSuccessfully);
        Assert.False(conn.IsConnected);
    }

    [Fact]
    public async Task Server_initiated_close_is_reported_and_the_connection_recovers()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string name = BrokerConnectionInfo.UniqueName("nucleon-server-close");
        int hookRuns = 0;
        var closedByServer = new TaskCompletionSource<AmqpConnectionException>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnected = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        await using var conn = new AmqpConnection(BrokerConnectionInfo.Uri(broker, $"connection_name={name}"));
        conn.OnConnect((_, _) =>
        {
            Interlocked.Increment(ref hookRuns);
            return Task.CompletedTask;
        });
        conn.ConnectionLost += (_, e) =>
        {
            if (e is { ReplyCode: AmqpReplyCode.ConnectionForced, Cause: AmqpConnectionException forced, Generation: 1, WillReconnect: true })
            {
                closedByServer.TrySetResult(forced);
            }
        };
        conn.Reconnected += (_, e) => reconnected.TrySetResult(e.Generation);

        await conn.ConnectAsync(ct);
        await using var oldChannel = await conn.AllocateChannelAsync(cancellationToken: ct);
        string queue = BrokerConnectionInfo.UniqueName("nucleon-server-close-q");
        await oldChannel.QueueDeclareAsync(queue, exclusive: true, cancellationToken: ct);

        var info = await BrokerConnectionInfo.FindAsync(broker, name);
        await broker.CloseConnectionAsync(await info.ToBrokerConnectionAsync(broker), "nucleon test: server-initiated close");

        var error = await closedByServer.Task.WaitAsync(ct);
        Assert.Equal(320, error.ReplyCode);
        Assert.Contains("server-initiated close", error.ReplyText, StringComparison.Ordinal);

        Assert.Equal(2, await reconnected.Task.WaitAsync(ct));
        Assert.Equal(2, conn.Generation);
        Assert.Equal(2, Volatile.Read(ref hookRuns));
        Assert.True(conn.IsConnected);

        await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
        {
            Assert.Equal(2, ch.Generation);
            string newQueue = queue + "-2";
            var declared = await ch.QueueDeclareAsync(newQueue, exclusive: true, cancellationToken: ct);
            Assert.Equal(newQueue, declared.QueueName);
            await ch.QueueDeleteAsync(newQueue, cancellationToken: ct);
        }

        Assert.False(oldChannel.IsOpen);
        await Assert.ThrowsAsync<AmqpConnectionLostException>(() => oldChannel.QueueDeclareAsync(queue, passive: true, cancellationToken: ct));

        // The broker lists the new connection under the same name, with another pid.
        var after = await BrokerConnectionInfo.FindAsync(broker, name);
        Assert.NotEqual(info.Pid, after.Pid);
    }

    [Fact]
    public async Task CloseAsync_removes_the_connection_from_the_broker()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string name = BrokerConnectionInfo.UniqueName("nucleon-client-close");
        var conn = new AmqpConnection(BrokerConnectionInfo.Uri(broker, $"connection_name={name}"));
        try
        {
            await conn.ConnectAsync(ct);
            await BrokerConnectionInfo.FindAsync(broker, name);

            await conn.CloseAsync(ct);
            await conn.Completion.WaitAsync(ct);

            var deadline = DateTime.UtcNow + BrokerFixture.ListingTimeout;
            while (await BrokerConnectionInfo.TryFindAsync(broker, name) is not null)
            {
                Assert.True(DateTime.UtcNow < deadline, $"The broker still lists {name} {BrokerFixture.ListingTimeout.TotalSeconds} s after CloseAsync.");
                await Task.Delay(100, ct);
            }
        }
        finally
        {
            await conn.DisposeAsync();
        }
    }
}
