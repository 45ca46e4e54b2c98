using Nucleon.Pipes.Tests.Infrastructure;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary><see cref="AmqpConnectionOptions.CredentialsProvider"/>: asked on every connect, its failures retried.</summary>
[Collection(FaultCollection.Name)]
public sealed class CredentialsProviderTests(FaultBrokerFixture broker, ITestOutputHelper output)
{
    [Fact]
    public async Task The_provider_is_asked_on_every_connect_and_its_answer_wins_over_the_options()
    {
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        int asked = 0;
        var options = ViaProxy(broker, proxy, "credentials") with
        {
            UserName = "nobody",
            Password = "wrong", // never used: the provider answers
            CredentialsProvider = _ =>
            {
                Interlocked.Increment(ref asked);
                return ValueTask.FromResult(new AmqpCredentials("guest", "guest"));
            },
        };
        await using var conn = new AmqpConnection(options);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await conn.ConnectAsync(cts.Token);
        Assert.Equal(1, Volatile.Read(ref asked));

        proxy.CutAll();
        await WaitUntilAsync(() => conn.Generation == 2 && conn.IsConnected, TimeSpan.FromSeconds(30), "the reconnect");
        Assert.Equal(2, Volatile.Read(ref asked));
    }

    [Fact]
    public async Task A_provider_that_fails_fails_that_attempt_only_and_is_logged()
    {
        int asked = 0;
        var options = Options(broker, "credentials-flaky") with
        {
            CredentialsProvider = _ => Interlocked.Increment(ref asked) == 1
                ? throw new InvalidOperationException("vault unavailable")
                : ValueTask.FromResult(new AmqpCredentials("guest", "guest")),
        };
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await conn.ConnectAsync(cts.Token);

        Assert.Equal(2, Volatile.Read(ref asked));
        var reported = Assert.Single(log.AttemptFailures);
        output.WriteLine(reported.Message);
        Assert.Contains("vault unavailable", reported.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_never_show_the_password()
    {
        var text = new AmqpCredentials("app", "s3cret-token").ToString();
        Assert.Contains("app", text, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", text, StringComparison.Ordinal);
    }
}
