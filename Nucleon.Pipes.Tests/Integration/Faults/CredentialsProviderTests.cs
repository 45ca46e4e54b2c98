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
    public async Task A_provider_that_ignores_its_token_and_never_answers_fails_that_attempt_after_the_connection_timeout()
    {
        int asked = 0;
        var never = new TaskCompletionSource<AmqpCredentials>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = Options(broker, "credentials-hung") with
        {
            ConnectionTimeout = TimeSpan.FromSeconds(2),
            CredentialsProvider = _ => Interlocked.Increment(ref asked) == 1
                ? new ValueTask<AmqpCredentials>(never.Task) // a vault client stuck on a dead socket, deaf to the token
                : ValueTask.FromResult(new AmqpCredentials("guest", "guest")),
        };
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await conn.ConnectAsync(cts.Token);

        Assert.Equal(2, Volatile.Read(ref asked));
        var reported = Assert.Single(log.AttemptFailures);
        output.WriteLine(reported.Message);
        Assert.Contains("did not answer within 2 s", reported.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closing_while_the_provider_hangs_returns_at_once()
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource<AmqpCredentials>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = Options(broker, "credentials-close") with
        {
            ConnectionTimeout = TimeSpan.FromMinutes(5),
            CredentialsProvider = _ =>
            {
                asked.TrySetResult();
                return new ValueTask<AmqpCredentials>(never.Task);
            },
        };
        var conn = new AmqpConnection(options);
        var connecting = conn.ConnectAsync(CancellationToken.None);
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await conn.CloseAsync().WaitAsync(TimeSpan.FromSeconds(30)); // waited for the provider's 5 minutes before
        await Assert.ThrowsAnyAsync<Exception>(() => connecting.WaitAsync(TimeSpan.FromSeconds(30)));
        await conn.Completion.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Credentials_without_a_user_name_fail_that_attempt_with_a_clear_error()
    {
        int asked = 0;
        var options = Options(broker, "credentials-null") with
        {
            CredentialsProvider = _ => ValueTask.FromResult(Interlocked.Increment(ref asked) == 1
                ? new AmqpCredentials(null!, "guest")
                : new AmqpCredentials("guest", "guest")),
        };
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await conn.ConnectAsync(cts.Token);

        var reported = Assert.Single(log.AttemptFailures);
        output.WriteLine(reported.Message);
        Assert.Contains("user name", reported.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_never_show_the_password()
    {
        var text = new AmqpCredentials("app", "s3cret-token").ToString();
        Assert.Contains("app", text, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", text, StringComparison.Ordinal);
    }
}
