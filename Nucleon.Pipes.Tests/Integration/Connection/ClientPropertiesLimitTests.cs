using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Connection;

/// <summary>
/// Custom client properties travel in connection.start-ok, which the broker reads before tuning (frames of at most
/// 4096 bytes): what does not fit, or cannot be encoded, is refused when the connection is created, not retried.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class ClientPropertiesLimitTests(BrokerFixture broker)
{
    [Fact]
    public async Task Properties_that_fit_reach_the_broker_and_larger_ones_are_refused_up_front()
    {
        using var cts = new CancellationTokenSource(BrokerFixture.CtlTestTimeout);
        string name = BrokerConnectionInfo.UniqueName("nucleon-large-props");
        var options = AmqpConnectionOptions.Parse(BrokerConnectionInfo.Uri(broker, $"connection_name={name}"));
        string note = new('n', 3000);
        await using (var conn = new AmqpConnection(options with { ClientProperties = new Dictionary<string, object?> { ["note"] = note } }))
        {
            await conn.ConnectAsync(cts.Token);
            Assert.Contains(note, (await BrokerConnectionInfo.FindAsync(broker, name)).ClientProperties, StringComparison.Ordinal);
        }

        // Sent, these made the broker reset every attempt ("connection reset by peer") or failed every attempt's encoding.
        var tooLarge = options with { ClientProperties = new Dictionary<string, object?> { ["note"] = new string('n', 5000) } };
        var refused = Assert.Throws<ArgumentException>(() => new AmqpConnection(tooLarge));
        Assert.Equal(nameof(AmqpConnectionOptions.ClientProperties), refused.ParamName);
        Assert.Contains("4096", refused.Message, StringComparison.Ordinal);
        var longKey = options with { ClientProperties = new Dictionary<string, object?> { [new string('k', 300)] = "v" } };
        Assert.Contains("255", Assert.Throws<ArgumentException>(() => new AmqpConnection(longKey)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provided_token_too_large_for_the_handshake_fails_the_attempt_with_the_reason()
    {
        using var cts = new CancellationTokenSource(BrokerFixture.CtlTestTimeout);
        int asked = 0;
        var options = AmqpConnectionOptions.Parse(broker.AmqpUri) with
        {
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(20),
            CredentialsProvider = _ => ValueTask.FromResult(Interlocked.Increment(ref asked) == 1
                ? new AmqpCredentials("guest", new string('t', 5000))
                : new AmqpCredentials("guest", "guest")),
        };
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(options with { LoggerFactory = log.CreateFactory() });

        await conn.ConnectAsync(cts.Token);

        var first = Assert.Single(log.AttemptFailures);
        Assert.Contains("4096", first.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ttttt", first.Message, StringComparison.Ordinal);
        Assert.All(log.Entries, e => Assert.DoesNotContain("ttttt", e.Message, StringComparison.Ordinal));
    }
}
