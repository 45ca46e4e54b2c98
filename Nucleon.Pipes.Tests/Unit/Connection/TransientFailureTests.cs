using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Connection;

/// <summary>Failures that are not a definitive answer are retried (issue 9, bug 5), against a scripted loopback server.</summary>
public sealed class TransientFailureTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_connection_dropped_during_the_TLS_handshake_is_retried_not_permanent()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(TlsOptions(server) with { LoggerFactory = log.CreateFactory() });

        var connect = conn.ConnectAsync(ct);
        await server.AcceptAsync();
        server.DropClient();

        var reported = (await log.NextAsync(LogEvents.AttemptFailed, ct)).Exception!;
        Assert.Contains("TLS", reported.Message, StringComparison.Ordinal);

        // A node going away mid-handshake is not an answer about the certificate: the client tries again.
        await server.AcceptAsync();
        server.DropClient();
        Assert.False(conn.Completion.IsCompleted, $"The connection gave up: {conn.Completion.Exception?.GetBaseException().Message}");

        await conn.CloseAsync(ct);
        await Assert.ThrowsAnyAsync<Exception>(() => connect.WaitAsync(ct));
    }

    [Fact]
    public async Task A_server_that_accepts_tcp_and_never_speaks_TLS_times_out_in_the_TLS_stage_of_the_handshake_timeout()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(TlsOptions(server) with { HandshakeTimeout = TimeSpan.FromSeconds(1), LoggerFactory = log.CreateFactory() });

        var connect = conn.ConnectAsync(ct);
        await server.AcceptAsync();
        var reported = (await log.NextAsync(LogEvents.AttemptFailed, ct)).Exception!;

        var timeout = Assert.IsType<TimeoutException>(reported);
        Assert.Contains("TLS handshake", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("1 s", timeout.Message, StringComparison.Ordinal);
        await conn.CloseAsync(ct);
        await Assert.ThrowsAnyAsync<Exception>(() => connect.WaitAsync(ct));
    }

    [Fact]
    public void The_handshake_timeout_defaults_to_10_s_and_must_be_positive()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), new AmqpConnectionOptions().HandshakeTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), AmqpConnectionOptions.Parse("amqp://h/?handshake_timeout=2500").HandshakeTimeout);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AmqpConnection(new AmqpConnectionOptions { HandshakeTimeout = TimeSpan.Zero }));
    }

    private static AmqpConnectionOptions TlsOptions(ScriptedAmqpServer server) => new()
    {
        Endpoints = [new AmqpEndpoint("127.0.0.1", server.Port)],
        UseTls = true,
        ConnectionTimeout = TimeSpan.FromSeconds(30),
        InitialConnectTimeout = TimeSpan.FromSeconds(25),
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
    };
}
