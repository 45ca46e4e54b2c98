using System.Diagnostics;
using Nucleon.Pipes.Tests.Infrastructure;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary>Failures that end the connection: refused credentials, and the application closing it while it reconnects.</summary>
[Collection(FaultCollection.Name)]
public sealed class PermanentFailureTests(FaultBrokerFixture broker, ITestOutputHelper output)
{
    [Fact]
    public async Task A_wrong_password_fails_ConnectAsync_promptly_and_faults_Completion()
    {
        await using var conn = new AmqpConnection(Options(broker, "wrong-password") with { Password = "not-the-password" });
        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<AmqpAuthenticationException>(() => conn.ConnectAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        output.WriteLine($"refused after {sw.Elapsed.TotalMilliseconds:0} ms: {ex.Message}");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed.TotalSeconds:0.0} s");
        Assert.DoesNotContain("not-the-password", ex.ToString(), StringComparison.Ordinal);
        await Assert.ThrowsAsync<AmqpAuthenticationException>(() => conn.Completion.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(conn.Completion.IsFaulted);
        Assert.Equal(0, conn.Generation);
    }

    [Fact]
    public async Task CloseAsync_during_a_reconnect_wait_ends_promptly_and_completes_Completion()
    {
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        // A long back-off: CloseAsync must not wait for it.
        await using var conn = new AmqpConnection(ViaProxy(broker, proxy, "close-while-reconnecting") with
        {
            ReconnectInitialDelay = TimeSpan.FromSeconds(2),
            ReconnectMaxDelay = TimeSpan.FromSeconds(30),
        });
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.ConnectionLost += (_, _) => lost.TrySetResult();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await conn.ConnectAsync(cts.Token);

        proxy.RefuseNew = true;
        proxy.CutAll();
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(10), cts.Token);
        var renting = conn.RentChannelAsync(cancellationToken: cts.Token);
        await Task.Delay(TimeSpan.FromSeconds(3), cts.Token); // at least one refused attempt, then back-off
        Assert.False(conn.IsConnected);
        Assert.False(renting.IsCompleted);

        var sw = Stopwatch.StartNew();
        await conn.CloseAsync().WaitAsync(TimeSpan.FromSeconds(5), cts.Token);
        output.WriteLine($"CloseAsync during the reconnect wait took {sw.Elapsed.TotalMilliseconds:0} ms");
        await conn.Completion.WaitAsync(TimeSpan.FromSeconds(1), cts.Token);
        Assert.True(conn.Completion.IsCompletedSuccessfully);

        // A renter waiting for the next connection learns that none will come.
        await Assert.ThrowsAnyAsync<AmqpException>(() => renting.WaitAsync(TimeSpan.FromSeconds(1), cts.Token));
        Assert.Equal(1, conn.Generation);
    }
}
