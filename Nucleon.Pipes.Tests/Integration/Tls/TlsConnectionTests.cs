using System.Diagnostics;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Connection;
using Xunit.Abstractions;

namespace Nucleon.Pipes.Tests.Integration.Tls;

/// <summary>
/// amqps against a TLS-enabled private node (valid chain, EXTERNAL, forced TLS versions) and against
/// a loopback TLS server presenting bad certificates (expired, unknown CA, other name).
/// </summary>
[Collection(TlsBrokerCollection.Name)]
public sealed class TlsConnectionTests(TlsBrokerFixture broker, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = BrokerFixture.CtlTestTimeout;

    /// <summary>A TLS failure is permanent: ConnectAsync must not retry until InitialConnectTimeout.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Amqps_with_the_test_CA_declares_publishes_with_confirm_and_consumes()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string name = BrokerConnectionInfo.UniqueName("nucleon-tls-valid");
        string queue = BrokerConnectionInfo.UniqueName("nucleon-tls-q");

        await using var conn = new AmqpConnection(broker.TlsOptions(broker.TrustTestCa(), name));
        await conn.ConnectAsync(ct);

        await using (var ch = await conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, ct))
        {
            await ch.QueueDeclareAsync(queue, exclusive: false, autoDelete: false, cancellationToken: ct);
            for (int i = 0; i < 3; i++)
            {
                await ch.PublishAsync("", queue, Encoding.UTF8.GetBytes($"over tls {i}"), cancellationToken: ct);
            }
        }

        await using (var consumerChannel = await conn.AllocateChannelAsync(cancellationToken: ct))
        {
            var received = new List<string>();
            await foreach (var m in consumerChannel.ConsumeAsync(queue, new ConsumeOptions { AutoAck = true }, ct))
            {
                received.Add(Encoding.UTF8.GetString(m.Body.Span));
                if (received.Count == 3)
                {
                    break;
                }
            }

            Assert.Equal(["over tls 0", "over tls 1", "over tls 2"], received);
            await consumerChannel.QueueDeleteAsync(queue, cancellationToken: ct);
        }

        var info = await TlsBrokerConnection.FindAsync(broker, name);
        Assert.True(info.Ssl);
        Assert.Equal(TlsBrokerFixture.TlsUser, info.User);
        Assert.Equal("PLAIN", info.AuthMechanism);

        await conn.CloseAsync(ct);
    }

    [Fact]
    public async Task System_store_only_refuses_the_test_CA_as_an_untrusted_authority()
    {
        var ex = await ConnectFailsAsync(broker.TlsOptions(AmqpTlsOptions.Default));

        Assert.Contains("not trusted", ex.Message, StringComparison.Ordinal);
        Assert.Contains("UntrustedRoot", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.PolicyErrors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public async Task Server_name_that_the_certificate_does_not_carry_is_a_name_mismatch()
    {
        var ex = await ConnectFailsAsync(broker.TlsOptions(broker.TrustTestCa() with { ServerName = "wrong.example" }));

        Assert.Contains("name does not match", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RemoteCertificateNameMismatch", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("chain", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SslPolicyErrors.RemoteCertificateNameMismatch, ex.PolicyErrors);
    }

    [Fact]
    public async Task Certificate_issued_for_another_host_is_a_name_mismatch()
    {
        await using var server = new TlsTestServer(broker.LoadWithKey("wrong-name-server"));
        var ex = await ConnectFailsAsync(LoopbackOptions(server));

        Assert.Contains("name does not match", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SslPolicyErrors.RemoteCertificateNameMismatch, ex.PolicyErrors);
        Assert.Equal(1, server.HandshakesAttempted);
    }

    [Fact]
    public async Task Certificate_from_an_unknown_CA_is_an_untrusted_authority()
    {
        await using var server = new TlsTestServer(broker.LoadWithKey("unknown-server"));
        var ex = await ConnectFailsAsync(LoopbackOptions(server));

        Assert.Contains("not trusted", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("name does not match", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, ex.PolicyErrors);
        Assert.Equal(1, server.HandshakesAttempted);
    }

    [Fact]
    public async Task Expired_certificate_is_reported_as_expired()
    {
        await using var server = new TlsTestServer(broker.LoadWithKey("expired-server"));
        var ex = await ConnectFailsAsync(LoopbackOptions(server));

        Assert.Contains("NotTimeValid", ex.Message, StringComparison.Ordinal);
        Assert.Contains("expired", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, ex.PolicyErrors);
        Assert.Equal(1, server.HandshakesAttempted);
    }

    [Fact]
    public async Task External_with_the_client_certificate_logs_in_as_its_common_name()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string name = BrokerConnectionInfo.UniqueName("nucleon-tls-external");
        var options = broker.TlsOptions(broker.TrustTestCa() with { ClientCertificates = [broker.ClientCertificate] }, name) with
        {
            AuthMechanism = "EXTERNAL",
            UserName = "someone-else",
            Password = "not-used",
        };

        await using var conn = new AmqpConnection(options);
        await conn.ConnectAsync(ct);
        await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
        {
            var declared = await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: ct);
            Assert.StartsWith("amq.gen-", declared.QueueName, StringComparison.Ordinal);
        }

        var info = await TlsBrokerConnection.FindAsync(broker, name);
        Assert.True(info.Ssl);
        Assert.Equal(TlsBrokerFixture.TlsUser, info.User);
        Assert.Equal("EXTERNAL", info.AuthMechanism);

        await conn.CloseAsync(ct);
    }

    [Fact]
    public async Task External_without_a_client_certificate_is_refused_promptly()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var options = broker.TlsOptions(broker.TrustTestCa()) with { AuthMechanism = "EXTERNAL" };
        await using var conn = new AmqpConnection(options);
        var watch = Stopwatch.StartNew();

        // Without a peer certificate the broker does not offer EXTERNAL.
        var ex = await Assert.ThrowsAsync<AmqpAuthenticationException>(() => conn.ConnectAsync(cts.Token));

        Assert.True(watch.Elapsed < Prompt, $"ConnectAsync took {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains("EXTERNAL", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(TlsBrokerFixture.TlsUserPassword, ex.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Client_certificate_from_an_unknown_CA_is_refused_by_the_broker_promptly(SslProtocols protocol)
    {
        var tls = broker.TrustTestCa() with { ClientCertificates = [broker.LoadWithKey("unknown-client")], EnabledProtocols = protocol };
        var ex = await ConnectFailsAsync(broker.TlsOptions(tls) with { AuthMechanism = "EXTERNAL" });

        Assert.Contains("client certificate", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SslProtocols.Tls12, "tlsv1.2")]
    [InlineData(SslProtocols.Tls13, "tlsv1.3")]
    public async Task Forced_TLS_version_is_the_one_negotiated(SslProtocols protocol, string brokerName)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        string name = BrokerConnectionInfo.UniqueName("nucleon-tls-version");

        await using var conn = new AmqpConnection(broker.TlsOptions(broker.TrustTestCa() with { EnabledProtocols = protocol }, name));
        await conn.ConnectAsync(ct);
        await using (var ch = await conn.RentChannelAsync(cancellationToken: ct))
        {
            await ch.QueueDeclareAsync("", exclusive: true, cancellationToken: ct);
        }

        var info = await TlsBrokerConnection.FindAsync(broker, name);
        Assert.Equal(brokerName, info.SslProtocol);

        await conn.CloseAsync(ct);
    }

    /// <summary>Options for the loopback server at 127.0.0.1 (the good certificates carry IP:127.0.0.1), trusting the test CA.</summary>
    private AmqpConnectionOptions LoopbackOptions(TlsTestServer server) =>
        broker.TlsOptions(broker.TrustTestCa()) with { Endpoints = [new AmqpEndpoint("127.0.0.1", server.Port)] };

    /// <summary>ConnectAsync must fail promptly with AmqpTlsException, without the password in any message.</summary>
    private async Task<AmqpTlsException> ConnectFailsAsync(AmqpConnectionOptions options)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var conn = new AmqpConnection(options);
        var watch = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<AmqpTlsException>(() => conn.ConnectAsync(cts.Token));
        watch.Stop();
        output.WriteLine($"{watch.Elapsed.TotalMilliseconds:0} ms: {ex.Message}");

        Assert.True(watch.Elapsed < Prompt, $"ConnectAsync took {watch.Elapsed.TotalSeconds:0.0} s to give up on a TLS failure");
        Assert.StartsWith("TLS with ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(TlsBrokerFixture.TlsUserPassword, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(TlsBrokerFixture.TlsUserPassword, conn.Completion.Exception?.ToString() ?? "", StringComparison.Ordinal);
        return ex;
    }
}
