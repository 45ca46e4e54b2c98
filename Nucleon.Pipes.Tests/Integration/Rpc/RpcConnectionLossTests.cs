using Nucleon.Pipes.Tests.Infrastructure;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Rpc;

/// <summary>An RPC client whose connection is cut (through a <see cref="TcpFaultProxy"/>) while calls wait for replies.</summary>
[Collection(BrokerCollection.Name)]
public sealed class RpcConnectionLossTests(BrokerFixture broker) : RpcTestBase(broker)
{
    [Fact]
    public async Task Calls_in_flight_when_the_connection_is_lost_fail_and_new_calls_work_on_the_next_connection()
    {
        const int inFlight = 10;
        var q = await DeclareQueueAsync(what: "rpc-loss");
        var held = ServeHeld(q, "answered", new RpcServerOptions { Concurrency = inFlight });
        await using var proxy = new TcpFaultProxy(Broker.Host, Broker.Port);
        await using var conn = await ConnectThroughAsync(proxy, "rpc-loss");
        await using var rpc = new AmqpRpcClient(conn);

        var calls = Enumerable.Range(0, inFlight).Select(_ => rpc.CallAsync("", q, Utf8("held"), cancellationToken: Ct).AsTask()).ToArray();
        await WaitUntilAsync(() => held.Arrived == inFlight, TimeSpan.FromSeconds(30), "every request to reach the server");
        proxy.CutAll();

        foreach (var call in calls)
        {
            await Assert.ThrowsAsync<AmqpConnectionLostException>(() => call.WaitAsync(Ct));
        }

        // The server answers now, to reply-to addresses whose channel is gone: the broker drops those replies.
        held.Release.TrySetResult();
        using var after = await rpc.CallAsync("", q, Utf8("after"), cancellationToken: Ct);
        Assert.Equal("answered", Text(after));
        Assert.True(conn.Generation >= 2, $"generation {conn.Generation}");
        Assert.Equal(0, rpc.DroppedReplies);
    }

    [Fact]
    public async Task A_request_refused_before_it_left_goes_out_on_a_new_channel_instead_of_failing()
    {
        // The window between a connection's loss and its channels learning of it: the link's channel still says open,
        // but its queue sends nothing more. A call made then was never sent, so it is a later call, not a lost one.
        var q = await DeclareQueueAsync(what: "rpc-refused");
        _ = ServeAsync(q, (m, _) => ValueTask.FromResult(Reply("answered " + Utf8Text(m))));
        await using var rpc = new AmqpRpcClient(Conn);
        using (var first = await rpc.CallAsync("", q, Utf8("first"), cancellationToken: Ct))
        {
            Assert.Equal("answered first", Text(first));
        }

        var stale = rpc.CurrentLink!;
        stale.Channel.Core.Queue.Complete(new AmqpConnectionLostException("simulated: nothing more can be sent"));
        Assert.True(stale.Channel.IsOpen);

        using var second = await rpc.CallAsync("", q, Utf8("second"), timeout: TimeSpan.FromSeconds(10), cancellationToken: Ct);
        Assert.Equal("answered second", Text(second));
        Assert.NotSame(stale, rpc.CurrentLink);
        Assert.NotNull(stale.Failure);
    }

    [Fact]
    public async Task A_call_made_while_the_connection_is_down_waits_for_the_next_one_within_its_timeout()
    {
        var q = await DeclareQueueAsync(what: "rpc-down");
        _ = ServeAsync(q, (m, _) => ValueTask.FromResult(Reply("answered " + Utf8Text(m))));
        await using var proxy = new TcpFaultProxy(Broker.Host, Broker.Port);
        await using var conn = await ConnectThroughAsync(proxy, "rpc-down");
        await using var rpc = new AmqpRpcClient(conn);
        using (var first = await rpc.CallAsync("", q, Utf8("first"), cancellationToken: Ct))
        {
            Assert.Equal("answered first", Text(first));
        }

        proxy.RefuseNew = true;
        proxy.CutAll();
        await WaitUntilAsync(() => !conn.IsConnected, TimeSpan.FromSeconds(30), "the client to notice the cut");

        // Refused while the broker is out of reach: the call's timeout bounds the wait for a connection.
        await Assert.ThrowsAsync<TimeoutException>(async () => await rpc.CallAsync("", q, Utf8("too soon"), timeout: TimeSpan.FromMilliseconds(500), cancellationToken: Ct));

        var waiting = rpc.CallAsync("", q, Utf8("later"), cancellationToken: Ct).AsTask();
        proxy.RefuseNew = false;
        using var later = await waiting.WaitAsync(Ct);
        Assert.Equal("answered later", Text(later));
    }

    [Fact]
    public async Task Disposing_the_client_ends_a_call_that_waits_for_a_connection()
    {
        var q = await DeclareQueueAsync(what: "rpc-dispose-down");
        await using var proxy = new TcpFaultProxy(Broker.Host, Broker.Port);
        await using var conn = await ConnectThroughAsync(proxy, "rpc-dispose-down");
        var rpc = new AmqpRpcClient(conn, new RpcClientOptions { Timeout = Timeout.InfiniteTimeSpan });
        proxy.RefuseNew = true;
        proxy.CutAll();
        await WaitUntilAsync(() => !conn.IsConnected, TimeSpan.FromSeconds(30), "the client to notice the cut");

        var waiting = rpc.CallAsync("", q, Utf8("x"), cancellationToken: Ct).AsTask();
        await AssertStaysPendingAsync(waiting, "a call while the broker is out of reach");
        await rpc.DisposeAsync().AsTask().WaitAsync(Ct);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.WaitAsync(Ct));
    }

    private static string Utf8Text(Message m) => System.Text.Encoding.UTF8.GetString(m.Body.Span);

    private async Task<AmqpConnection> ConnectThroughAsync(TcpFaultProxy proxy, string name)
    {
        await proxy.StartAsync();
        var conn = new AmqpConnection(ViaProxy(Broker, proxy, name));
        await conn.ConnectAsync(Ct);
        return conn;
    }
}
