using System.Diagnostics;
using Nucleon.Pipes.Tests.Infrastructure;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary>Network faults through a loopback <see cref="TcpFaultProxy"/>: a silent network, cut connections, a broker that is down at start.</summary>
[Collection(FaultCollection.Name)]
public sealed class ProxyFaultTests(FaultBrokerFixture broker, ITestOutputHelper output)
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Without_automatic_reconnection_a_lost_connection_ends_the_connection_for_good()
    {
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        await using var conn = new AmqpConnection(ViaProxy(broker, proxy, "no-reconnect") with { AutomaticReconnect = false });
        var lost = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.ConnectionLost += (_, e) => lost.TrySetResult(e.Cause);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await conn.ConnectAsync(cts.Token);
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: cts.Token);
        await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: cts.Token);

        proxy.CutAll();
        await lost.Task.WaitAsync(cts.Token);
        var end = await Assert.ThrowsAnyAsync<AmqpConnectionLostException>(() => conn.Completion.WaitAsync(cts.Token));
        output.WriteLine($"ended with: {end.Message}");
        Assert.Equal(1, conn.Generation);
        Assert.False(conn.IsConnected);
        await Assert.ThrowsAnyAsync<AmqpException>(() => ch.QueueDeclareAsync("", exclusive: true, cancellationToken: cts.Token));
        await Assert.ThrowsAnyAsync<AmqpException>(() => conn.RentChannelAsync(cancellationToken: cts.Token));
    }

    [Fact]
    public async Task Without_automatic_reconnection_ConnectAsync_tries_each_endpoint_once_and_throws_the_last_error()
    {
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        proxy.RefuseNew = true;
        var options = ViaProxy(broker, proxy, "no-reconnect-initial") with
        {
            AutomaticReconnect = false,
            Endpoints = [new AmqpEndpoint("127.0.0.1", proxy.Port), new AmqpEndpoint("127.0.0.1", proxy.Port)],
        };
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });
        int reports = 0;
        conn.OnError((_, _) =>
        {
            Interlocked.Increment(ref reports);
            return ValueTask.CompletedTask;
        });
        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => conn.ConnectAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        int attempts = log.AttemptFailures.Count;
        output.WriteLine($"gave up after {sw.ElapsedMilliseconds} ms and {attempts} attempts: {ex.GetType().Name}: {ex.Message}");
        Assert.IsNotType<TimeoutException>(ex);
        Assert.Equal(2, attempts);
        Assert.Equal(1, Volatile.Read(ref reports)); // the failure that ends it
        Assert.True(conn.Completion.IsCompleted);
    }

    [Fact]
    public async Task A_stalled_network_is_detected_within_three_heartbeats_and_the_client_reconnects_after_it_resumes()
    {
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        await using var conn = new AmqpConnection(ViaProxy(broker, proxy, "stall") with { Heartbeat = Heartbeat, ConnectionTimeout = TimeSpan.FromSeconds(3) });
        var lost = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.ConnectionLost += (_, e) => lost.TrySetResult(e.Cause);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await conn.ConnectAsync(cts.Token);
        Assert.Equal(Heartbeat, conn.CurrentSession!.Heartbeat);
        await RoundTripAsync(conn, cts.Token);

        proxy.Stall();
        var sw = Stopwatch.StartNew();
        var reason = await lost.Task.WaitAsync(TimeSpan.FromSeconds(15), cts.Token);
        var detected = sw.Elapsed;
        output.WriteLine($"stall detected after {detected.TotalSeconds:0.00} s (heartbeat {Heartbeat.TotalSeconds} s): {reason.Message}");
        Assert.IsType<AmqpConnectionLostException>(reason);
        Assert.True(detected <= (3 * Heartbeat) + TimeSpan.FromSeconds(1.5), $"detected after {detected.TotalSeconds:0.00} s");

        proxy.Resume();
        sw.Restart();
        await WaitUntilAsync(() => conn.Generation >= 2 && conn.IsConnected, TimeSpan.FromSeconds(20), () => $"reconnect (generation {conn.Generation})");
        output.WriteLine($"reconnected {sw.Elapsed.TotalSeconds:0.00} s after resume (generation {conn.Generation})");
        await RoundTripAsync(conn, cts.Token);
    }

    [Fact]
    public async Task A_cut_connection_is_replaced_and_rented_channels_work_again()
    {
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        await using var conn = new AmqpConnection(ViaProxy(broker, proxy, "cut"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await conn.ConnectAsync(cts.Token);
        await using var old = await conn.AllocateChannelAsync(cancellationToken: cts.Token);
        await RoundTripAsync(conn, cts.Token);

        for (int cut = 1; cut <= 3; cut++)
        {
            var sw = Stopwatch.StartNew();
            proxy.CutAll();
            await WaitUntilAsync(() => conn.Generation > cut && conn.IsConnected, TimeSpan.FromSeconds(20), () => $"reconnect after cut {cut} (generation {conn.Generation})");
            output.WriteLine($"cut {cut}: generation {conn.Generation} after {sw.Elapsed.TotalMilliseconds:0} ms");
            await RoundTripAsync(conn, cts.Token);
        }

        // A channel of an older generation fails clearly on use.
        await Assert.ThrowsAsync<AmqpConnectionLostException>(() => old.QueueDeclareAsync(exclusive: true, cancellationToken: cts.Token));
    }

    [Fact]
    public async Task ConnectAsync_waits_for_a_broker_that_is_down_and_succeeds_once_it_is_up()
    {
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port) { RefuseNew = true };
        await proxy.StartAsync();
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(ViaProxy(broker, proxy, "down-at-start") with { LoggerFactory = log.CreateFactory() });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var sw = Stopwatch.StartNew();
        var connecting = conn.ConnectAsync(cts.Token);
        for (int i = 0; i < 3; i++)
        {
            await log.NextAsync(LogEvents.AttemptFailed, cts.Token);
        }

        Assert.False(connecting.IsCompleted, $"ConnectAsync ended while the broker was down: {connecting.Exception}");

        proxy.RefuseNew = false;
        var up = sw.Elapsed;
        await connecting.WaitAsync(TimeSpan.FromSeconds(10));
        output.WriteLine($"connected {(sw.Elapsed - up).TotalMilliseconds:0} ms after the broker came up, after {log.AttemptFailures.Count} failed attempts");
        Assert.Equal(1, conn.Generation);
        await RoundTripAsync(conn, cts.Token);
    }

    /// <summary>Rents a channel and does a synchronous call on it.</summary>
    private static async Task RoundTripAsync(AmqpConnection conn, CancellationToken ct)
    {
        await using var channel = await conn.RentChannelAsync(cancellationToken: ct);
        var declared = await channel.QueueDeclareAsync(exclusive: true, cancellationToken: ct);
        await channel.QueueDeleteAsync(declared.QueueName, cancellationToken: ct);
    }
}
