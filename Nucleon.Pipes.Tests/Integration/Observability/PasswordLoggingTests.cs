using System.Text;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Connection;
using Nucleon.Pipes.Tests.Unit.Security;
using Xunit.Abstractions;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Observability;

/// <summary>
/// No log line shows a password: the fault scenarios (forced close, refused reconnects, a refused login, a channel
/// error, a returned message, a secret update) run at Trace with a distinctive password, and every line, exception
/// and structured value is searched for it (issue 11).
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class PasswordLoggingTests(BrokerFixture broker, ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task No_log_entry_of_the_fault_scenarios_shows_the_password_at_Trace()
    {
        using var cts = new CancellationTokenSource(BrokerFixture.CtlTestTimeout);
        var ct = cts.Token;
        string user = BrokerConnectionInfo.UniqueName("nucleon-log-user");
        string password = SecretTests.NewPassword();
        string wrongPassword = SecretTests.NewPassword();
        await broker.CtlAsync("add_user", user, password);
        try
        {
            await broker.CtlAsync("set_permissions", "-p", "/", user, ".*", ".*", ".*");
            using var log = new RecordingLoggerProvider();
            var factory = log.CreateFactory();
            var endpoint = AmqpConnectionOptions.Parse(broker.AmqpUri).Endpoints[0];
            // The password travels in the URI, as configuration often has it.
            var options = AmqpConnectionOptions.Parse($"amqp://{user}:{password}@{endpoint.Host}:{endpoint.Port}/") with
            {
                ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
                LoggerFactory = factory,
            };

            try
            {
                await ForcedCloseAndChannelTroubleAsync(options with { ClientProvidedName = user }, password, ct);
                await RefusedReconnectsAsync(options, user, password, log, ct);
                await RefusedLoginAsync(options with { Password = wrongPassword }, ct);
            }
            finally
            {
                foreach (var entry in log.Entries)
                {
                    output.WriteLine(entry.ToString());
                }
            }

            output.WriteLine($"{log.Entries.Count} entries, {log.Entries.Select(e => e.EventId.Id).Distinct().Count()} distinct events");
            foreach (int id in new[] { LogEvents.Lost, LogEvents.Reconnected, LogEvents.AttemptFailed, LogEvents.PermanentFailure, LogEvents.ClosedByBroker, LogEvents.Returned, LogEvents.Resubscribed })
            {
                Assert.True(log.Events(id).Count > 0, $"No event {id}: the scenarios did not cover it.");
            }

            SecretTests.AssertHiddenInLog(password, log);
            SecretTests.AssertHiddenInLog(wrongPassword, log);
        }
        finally
        {
            await broker.CtlAsync("delete_user", user);
        }
    }

    private async Task ForcedCloseAndChannelTroubleAsync(AmqpConnectionOptions options, string password, CancellationToken ct)
    {
        await using var conn = new AmqpConnection(options);
        await conn.ConnectAsync(ct);
        await conn.UpdateSecretAsync(password, "rotation", ct);
        string queue;
        await using (var ch = await conn.AllocateChannelAsync(cancellationToken: ct))
        {
            queue = (await ch.QueueDeclareAsync(BrokerConnectionInfo.UniqueName("nucleon-log-secret-q"), cancellationToken: ct)).QueueName;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var consumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consuming = Task.Run(async () =>
        {
            try
            {
                await foreach (var m in conn.ConsumeAsync(queue, cancellationToken: stop.Token))
                {
                    bool last = Encoding.UTF8.GetString(m.Body.Span) == "after";
                    await m.AckAsync();
                    if (last)
                    {
                        consumed.TrySetResult();
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }, CancellationToken.None);

        await using (var ch = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
        {
            await ch.PublishAsync("", queue, Encoding.UTF8.GetBytes(password), cancellationToken: ct); // a body is never logged either
            await Assert.ThrowsAsync<AmqpMessageReturnedException>(async () =>
                await ch.PublishAsync("", queue + ".nowhere", Encoding.UTF8.GetBytes(password), mandatory: true, cancellationToken: ct));
        }

        await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
        {
            await Assert.ThrowsAsync<AmqpChannelException>(() => ch.ExchangeDeclareAsync(queue + ".missing", passive: true, cancellationToken: ct));
        }

        var info = await BrokerConnectionInfo.FindAsync(broker, options.ClientProvidedName!);
        await broker.CloseConnectionAsync(await info.ToBrokerConnectionAsync(broker), "nucleon secret test");
        await WaitUntilAsync(() => conn.Generation == 2 && conn.IsConnected, Bound, "the reconnect after the forced close");
        await using (var ch = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
        {
            await ch.PublishAsync("", queue, Encoding.UTF8.GetBytes("after"), cancellationToken: ct);
        }

        await Task.WhenAny(consumed.Task, consuming).WaitAsync(Bound, ct);
        Assert.False(consuming.IsCompleted, $"The consumer ended: {consuming.Exception}");
        await stop.CancelAsync();
        await consuming;
        await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
        {
            await ch.QueueDeleteAsync(queue, cancellationToken: ct);
        }
    }

    private async Task RefusedReconnectsAsync(AmqpConnectionOptions options, string user, string password, RecordingLoggerProvider log, CancellationToken ct)
    {
        await using var proxy = new TcpFaultProxy(broker.Host, broker.Port);
        await proxy.StartAsync();
        // The credentials come from a provider here.
        await using var conn = new AmqpConnection(options with
        {
            Endpoints = [new AmqpEndpoint("127.0.0.1", proxy.Port)],
            CredentialsProvider = _ => ValueTask.FromResult(new AmqpCredentials(user, password)),
        });
        await conn.ConnectAsync(ct);
        proxy.RefuseNew = true;
        proxy.CutAll();
        int failed = log.AttemptFailures.Count;
        await WaitUntilAsync(() => log.AttemptFailures.Count >= failed + 3, Bound, "three refused attempts");
        proxy.RefuseNew = false;
        await WaitUntilAsync(() => conn.Generation == 2 && conn.IsConnected, Bound, "the reconnect through the proxy");
    }

    private static async Task RefusedLoginAsync(AmqpConnectionOptions options, CancellationToken ct)
    {
        await using var conn = new AmqpConnection(options);
        await Assert.ThrowsAsync<AmqpAuthenticationException>(() => conn.ConnectAsync(ct));
    }
}
