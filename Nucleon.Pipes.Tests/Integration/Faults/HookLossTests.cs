using System.Collections.Concurrent;
using Nucleon.Pipes.Tests.Infrastructure;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary>On-connect hooks whose connection is cut while they run (issue 9, bug 6).</summary>
[Collection(FaultCollection.Name)]
public sealed class HookLossTests(FaultBrokerFixture broker, ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_hook_that_retries_after_its_connection_is_cut_does_not_stall_the_supervisor()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = cts.Token;
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        string queue = QueueName("hook-retry");
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(ViaProxy(broker, proxy, "hook-retry") with { LoggerFactory = log.CreateFactory() });

        int calls = 0;
        var firstRunning = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cutSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstRetryErrors = new ConcurrentQueue<Exception>();
        var firstDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.OnConnect(async (c, hookToken) =>
        {
            bool first = Interlocked.Increment(ref calls) == 1;
            if (first)
            {
                firstRunning.TrySetResult(hookToken);
                await cutSeen.Task.WaitAsync(ct);
            }

            try
            {
                // A user's retry loop that uses its own token, not the hook's: the pattern that used to
                // wait for ever on the gate that only opens after this very hook.
                for (int attempt = 1; ; attempt++)
                {
                    try
                    {
                        await using var channel = await c.RentChannelAsync(cancellationToken: ct);
                        await channel.QueueDeclareAsync(queue, cancellationToken: ct);
                        return;
                    }
                    catch (AmqpConnectionLostException ex) when (attempt < 5)
                    {
                        if (first)
                        {
                            firstRetryErrors.Enqueue(ex);
                        }

                        await Task.Delay(20, ct);
                    }
                }
            }
            finally
            {
                if (first)
                {
                    firstDone.TrySetResult();
                }
            }
        });

        var connecting = conn.ConnectAsync(ct);
        var firstToken = await firstRunning.Task.WaitAsync(Bound, ct);
        proxy.CutAll();

        // The hook's token is per generation: it is cancelled when that connection is lost.
        await WaitUntilAsync(() => firstToken.IsCancellationRequested, Bound, "the first hook's token to be cancelled by the loss");
        cutSeen.TrySetResult();

        await connecting.WaitAsync(Bound, ct);
        Assert.Equal(2, conn.Generation);
        Assert.True(conn.IsConnected);
        Assert.Equal(2, Volatile.Read(ref calls));

        // The first hook's channel requests failed at once instead of waiting for the next connection.
        await firstDone.Task.WaitAsync(Bound, ct);
        Assert.NotEmpty(firstRetryErrors);
        Assert.All(firstRetryErrors, e => Assert.IsType<AmqpConnectionLostException>(e));

        // The loss during the hooks was logged as a failed attempt.
        var report = Assert.Single(log.AttemptFailures, e => e is AmqpConnectionLostException && e.Message.Contains("on-connect hooks", StringComparison.Ordinal));
        output.WriteLine(report.Message);

        await using (var channel = await conn.RentChannelAsync(cancellationToken: ct))
        {
            var declared = await channel.QueueDeclareAsync(queue, passive: true, cancellationToken: ct);
            Assert.Equal(queue, declared.QueueName);
            await channel.QueueDeleteAsync(queue, cancellationToken: ct);
        }
    }

    [Fact]
    public async Task A_hook_that_ignores_its_token_and_blocks_does_not_stall_the_supervisor_after_a_cut()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = cts.Token;
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        await using var conn = new AmqpConnection(ViaProxy(broker, proxy, "hook-blocks"));
        int calls = 0;
        var firstRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.OnConnect(async (_, _) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                firstRunning.TrySetResult();
                await release.Task.WaitAsync(ct);
                throw new InvalidOperationException("the stale hook ends late and throws");
            }
        });

        var connecting = conn.ConnectAsync(ct);
        await firstRunning.Task.WaitAsync(Bound, ct);
        proxy.CutAll();
        try
        {
            await connecting.WaitAsync(Bound, ct);
            Assert.Equal(2, conn.Generation);
            Assert.True(conn.IsConnected);
        }
        finally
        {
            release.TrySetResult();
        }

        // The stale hook's late failure does not touch the new connection.
        await Task.Yield();
        Assert.True(conn.IsConnected);
        Assert.Equal(2, conn.Generation);
    }
}
