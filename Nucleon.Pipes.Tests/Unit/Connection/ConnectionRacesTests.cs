using System.Collections.Concurrent;
using System.Diagnostics;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Connection;

/// <summary>Connection-level races and silent conversions found by reading (issue 9, bug 13), against a scripted server.</summary>
public sealed class ConnectionRacesTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    private static AmqpConnectionOptions OptionsFor(ScriptedAmqpServer server) => new()
    {
        Endpoints = [new AmqpEndpoint("127.0.0.1", server.Port)],
        Heartbeat = TimeSpan.Zero,
        InitialConnectTimeout = TimeSpan.FromSeconds(30),
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromSeconds(1),
    };

    [Fact]
    public async Task Blocked_and_Unblocked_are_raised_in_the_order_the_broker_sent_them()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        await using var conn = new AmqpConnection(OptionsFor(server));
        var seen = new ConcurrentQueue<char>();
        // A slow Blocked handler: an Unblocked raised independently would overtake it.
        conn.Blocked += (_, _) =>
        {
            Thread.Sleep(5);
            seen.Enqueue('B');
        };
        conn.Unblocked += (_, _) => seen.Enqueue('U');

        var handshake = server.AcceptAndHandshakeAsync();
        await conn.ConnectAsync(ct);
        await handshake.WaitAsync(ct);

        const int Pairs = 20;
        for (int i = 0; i < Pairs; i++)
        {
            await server.SendMethodAsync(0, new ConnectionBlocked("low on memory"));
            await server.SendMethodAsync(0, new ConnectionUnblocked());
        }

        var sw = Stopwatch.StartNew();
        while (seen.Count < 2 * Pairs && sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(10, ct);
        }

        Assert.Equal(string.Concat(Enumerable.Repeat("BU", Pairs)), new string([.. seen]));
        await CloseAsync(conn, server, ct);
    }

    [Fact]
    public async Task A_broker_that_drops_every_new_connection_sees_a_growing_back_off_not_a_reconnect_every_50_ms()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        await using var conn = new AmqpConnection(OptionsFor(server));
        var connect = conn.ConnectAsync(ct);

        var gaps = new List<TimeSpan>();
        var sw = new Stopwatch();
        for (int generation = 1; generation <= 7; generation++)
        {
            await server.AcceptAndHandshakeAsync();
            if (sw.IsRunning)
            {
                gaps.Add(sw.Elapsed);
            }

            int expected = generation;
            while (!(conn.Generation == expected && conn.IsConnected))
            {
                await Task.Delay(5, ct);
            }

            // Up for a moment only: far less than the time after which the back-off restarts.
            server.DropClient();
            sw.Restart();
        }

        await connect.WaitAsync(ct);

        // Delays from 50 ms doubling to the 1 s cap, half of each random: the last three are at least
        // 200 + 400 + 500 ms. Restarting the back-off on every connection would keep them at 25-50 ms.
        var lastThree = gaps[^3] + gaps[^2] + gaps[^1];
        Assert.True(lastThree >= TimeSpan.FromMilliseconds(1000), $"Gaps between reconnects: {string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:0} ms"))}");
    }

    [Fact]
    public async Task A_sub_second_heartbeat_is_rounded_up_to_one_second_not_turned_off()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        await using var conn = new AmqpConnection(OptionsFor(server) with { Heartbeat = TimeSpan.FromMilliseconds(500) });
        var handshake = server.AcceptAndHandshakeAsync(new ScriptedHandshake { Heartbeat = 60 });
        await conn.ConnectAsync(ct);
        await handshake.WaitAsync(ct);

        Assert.Equal((ushort)1, server.TuneOk!.Value.Heartbeat);
        Assert.Equal(TimeSpan.FromSeconds(1), conn.CurrentSession!.Heartbeat);

        // And the client does send heartbeats at that rate. The scripted broker sends its own meanwhile, as a broker
        // does: this test is about what the client sends, and on a loaded machine a first tick that runs late would
        // otherwise find a broker silent for two intervals and rightly close the connection (seen once in CI).
        using var stopBeats = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var beats = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await server.SendFrameAsync(Nucleon.Pipes.Framing.AmqpConstants.FrameHeartbeat, 0, ReadOnlySpan<byte>.Empty);
                    await Task.Delay(TimeSpan.FromMilliseconds(200), stopBeats.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var (type, channel, _) = await server.ReadFrameAsync().WaitAsync(TimeSpan.FromSeconds(10), ct);
        await stopBeats.CancelAsync();
        await beats;
        Assert.Equal(Nucleon.Pipes.Framing.AmqpConstants.FrameHeartbeat, type);
        Assert.Equal((ushort)0, channel);
        await CloseAsync(conn, server, ct);
    }

    [Theory]
    [InlineData(1500, 2)]
    [InlineData(2000, 2)]
    public async Task A_fractional_heartbeat_is_rounded_up_to_whole_seconds(int milliseconds, ushort expected)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        await using var conn = new AmqpConnection(OptionsFor(server) with { Heartbeat = TimeSpan.FromMilliseconds(milliseconds) });
        var handshake = server.AcceptAndHandshakeAsync(new ScriptedHandshake { Heartbeat = 60 });
        await conn.ConnectAsync(ct);
        await handshake.WaitAsync(ct);
        Assert.Equal(expected, server.TuneOk!.Value.Heartbeat);
        await CloseAsync(conn, server, ct);
    }

    private static async Task CloseAsync(AmqpConnection conn, ScriptedAmqpServer server, CancellationToken ct)
    {
        var closing = conn.CloseAsync(ct);
        await server.ReadConnectionCloseAsync();
        await server.SendMethodAsync(0, new ConnectionCloseOk());
        await closing.WaitAsync(ct);
    }
}
