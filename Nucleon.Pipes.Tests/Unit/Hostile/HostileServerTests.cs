using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Hostile;

/// <summary>
/// A scripted loopback server that misbehaves, one scenario per test (the first few are in
/// DecoderSafetyTests). Each test checks: a clear exception or OnError report, the client's
/// connection.close with the right reply code where one applies, bounded memory, no unhandled or
/// unobserved exception, the reconnect loop still alive (a second, clean connection is made), and
/// everything within <see cref="TestTimeout"/>.
/// </summary>
[Collection(HostileCollection.Name)]
public sealed class HostileServerTests(UnhandledExceptionMonitor monitor)
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(15);
    private const long AllocationBound = 10L * 1024 * 1024;
    private const ushort HeadersFlag = 1 << 13;

    // ------------------------------------------------------------------ after the handshake

    [Fact]
    public Task Frame_size_of_2_pow_32_minus_1_is_a_frame_error() =>
        RunAfterHandshakeAsync(AmqpReplyCode.FrameError, openChannel: false, async server =>
        {
            // Only the header: the client must refuse it from the header alone, without waiting for 4 GiB.
            await server.SendRawAsync(new byte[] { AmqpConstants.FrameMethod, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF });
        });

    [Fact]
    public Task Truncated_frame_then_silence_is_detected_by_the_heartbeat() =>
        RunAfterHandshakeAsync(expectedCode: null, openChannel: false, heartbeat: 1, misbehave: async server =>
        {
            // A method frame announcing 100 bytes, of which only 10 arrive; then nothing, not even heartbeats.
            byte[] partial = new byte[AmqpConstants.FrameHeaderSize + 10];
            partial[0] = AmqpConstants.FrameMethod;
            BinaryPrimitives.WriteUInt32BigEndian(partial.AsSpan(3), 100);
            await server.SendRawAsync(partial);
        },
        check: error =>
        {
            var lost = Assert.IsType<AmqpConnectionLostException>(error);
            Assert.Contains("Heartbeat timeout", lost.Message, StringComparison.Ordinal);
        });

    [Fact]
    public Task Body_size_claim_of_2_pow_63_is_refused_before_any_allocation() =>
        RunAfterHandshakeAsync(AmqpReplyCode.FrameError, openChannel: true, async server =>
        {
            await server.SendMethodAsync(1, new BasicDeliver(server.ConsumerTag!, 1, false, "", "q"));
            await server.SendFrameAsync(AmqpConstants.FrameHeader, 1, ContentHeaderPayload(1UL << 63, flags: 0, []));
        });

    [Fact]
    public Task Field_table_longer_than_the_frame_in_delivery_headers_is_a_syntax_error() =>
        RunAfterHandshakeAsync(AmqpReplyCode.SyntaxError, openChannel: true, async server =>
        {
            await server.SendMethodAsync(1, new BasicDeliver(server.ConsumerTag!, 1, false, "", "q"));
            byte[] table = [0x7F, 0xFF, 0xFF, 0xF0, 1, (byte)'k', (byte)'t', 1];
            await server.SendFrameAsync(AmqpConstants.FrameHeader, 1, ContentHeaderPayload(10, HeadersFlag, table));
        });

    [Fact]
    public Task Tables_nested_10000_deep_in_headers_are_no_error_and_no_stack_overflow_only_a_malformed_table_closes() =>
        RunAfterHandshakeAsync(AmqpReplyCode.SyntaxError, openChannel: true, async server =>
        {
            // Valid AMQP (the part deeper than the decoder recurses is kept raw): delivered, no close.
            await server.SendMethodAsync(1, new BasicDeliver(server.ConsumerTag!, 1, false, "", "q"));
            await server.SendFrameAsync(AmqpConstants.FrameHeader, 1, ContentHeaderPayload(0, HeadersFlag, NestedTable(10_000)));
            // The close must come from this one: a table longer than its frame.
            await server.SendMethodAsync(1, new BasicDeliver(server.ConsumerTag!, 2, false, "", "q"));
            byte[] table = [0x7F, 0xFF, 0xFF, 0xF0, 1, (byte)'k', (byte)'t', 1];
            await server.SendFrameAsync(AmqpConstants.FrameHeader, 1, ContentHeaderPayload(0, HeadersFlag, table));
        },
        check: error => Assert.Contains("field table", error.Message, StringComparison.Ordinal));

    [Fact]
    public Task Invalid_utf8_in_a_short_string_of_basic_deliver_is_a_syntax_error() =>
        RunAfterHandshakeAsync(AmqpReplyCode.SyntaxError, openChannel: true, async server =>
        {
            // basic.deliver with the exchange name C3 28 (a lead byte followed by a non-continuation byte).
            var payload = new List<byte> { 0, 60, 0, 60 };
            byte[] tag = Encoding.UTF8.GetBytes(server.ConsumerTag!);
            payload.Add((byte)tag.Length);
            payload.AddRange(tag);
            payload.AddRange(new byte[] { 0, 0, 0, 0, 0, 0, 0, 1 }); // delivery tag
            payload.Add(0); // redelivered
            payload.AddRange(new byte[] { 2, 0xC3, 0x28 }); // exchange
            payload.AddRange(new byte[] { 1, (byte)'q' }); // routing key
            await server.SendFrameAsync(AmqpConstants.FrameMethod, 1, payload.ToArray());
        });

    [Fact]
    public Task Heartbeat_on_a_non_zero_channel_is_a_frame_error() =>
        RunAfterHandshakeAsync(AmqpReplyCode.FrameError, openChannel: false, async server =>
        {
            await server.SendFrameAsync(AmqpConstants.FrameHeartbeat, 1, []);
        });

    [Fact]
    public Task Unknown_class_and_method_on_channel_zero_close_the_connection() =>
        RunAfterHandshakeAsync(null, openChannel: false, expectClose: [AmqpReplyCode.CommandInvalid, AmqpReplyCode.NotImplemented], misbehave: async server =>
        {
            await server.SendFrameAsync(AmqpConstants.FrameMethod, 0, new byte[] { 0x03, 0xE7, 0x00, 0x01 });
        });

    [Fact]
    public Task Unknown_method_on_an_open_channel_closes_the_connection() =>
        RunAfterHandshakeAsync(null, openChannel: true, expectClose: [AmqpReplyCode.CommandInvalid, AmqpReplyCode.NotImplemented], misbehave: async server =>
        {
            await server.SendFrameAsync(AmqpConstants.FrameMethod, 1, new byte[] { 0x00, 60, 0x03, 0xE7, 1, 2, 3 });
        });

    [Theory]
    [InlineData(AmqpReplyCode.AccessRefused, "ACCESS_REFUSED - user permissions were revoked")]
    [InlineData(AmqpReplyCode.NotAllowed, "NOT_ALLOWED - vhost is being deleted")]
    public Task A_server_close_of_an_established_connection_is_never_permanent(ushort code, string text) =>
        RunAfterHandshakeAsync(expectedCode: null, openChannel: false, misbehave: async server =>
        {
            await server.SendMethodAsync(0, new ConnectionClose(code, text, 0, 0));
            await server.ReadMethodAsync(0, MethodIds.ConnectionCloseOk);
        },
        check: error =>
        {
            // Reported, then the connection comes back (the harness checks the reconnect): only an answer
            // during the handshake can be definitive.
            var closed = Assert.IsType<AmqpConnectionException>(error);
            Assert.Equal(code, closed.ReplyCode);
        });

    // ------------------------------------------------------------------ during the handshake

    [Fact]
    public Task Connection_start_with_no_supported_mechanism_is_an_authentication_error() =>
        RunHandshakeFaultAsync(
            async server =>
            {
                await server.AcceptAndReadHeaderAsync();
                var props = new Dictionary<string, object?> { ["product"] = "ScriptedServer" };
                await server.SendMethodAsync(0, new ConnectionStart(0, 9, props, "CRAM-MD5", "en_US"));
            },
            error =>
            {
                var auth = Assert.IsType<AmqpAuthenticationException>(error);
                Assert.Contains("CRAM-MD5", auth.Message, StringComparison.Ordinal);
            },
            recovers: false);

    [Fact]
    public Task Invalid_utf8_in_connection_start_mechanisms_is_a_syntax_error() =>
        RunHandshakeFaultAsync(
            async server =>
            {
                await server.AcceptAndReadHeaderAsync();
                byte[] payload = [0, 10, 0, 10, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3, (byte)'P', 0xFF, 0xFE, 0, 0, 0, 5, .. "en_US"u8];
                await server.SendFrameAsync(AmqpConstants.FrameMethod, 0, payload);
                await server.WaitForDisconnectAsync();
            },
            error => Assert.Equal(AmqpReplyCode.SyntaxError, Assert.IsType<AmqpProtocolException>(error).ReplyCode),
            recovers: true);

    [Fact]
    public Task Server_properties_table_longer_than_the_frame_is_a_syntax_error() =>
        RunHandshakeFaultAsync(
            async server =>
            {
                await server.AcceptAndReadHeaderAsync();
                // server-properties claims 1000 bytes; the whole payload is 30.
                byte[] payload = [0, 10, 0, 10, 0, 9, 0, 0, 0x03, 0xE8, 1, (byte)'k', (byte)'t', 1, 0, 0, 0, 5, .. "PLAIN"u8, 0, 0, 0, 5, .. "en_US"u8];
                await server.SendFrameAsync(AmqpConstants.FrameMethod, 0, payload);
                await server.WaitForDisconnectAsync();
            },
            error => Assert.Equal(AmqpReplyCode.SyntaxError, Assert.IsType<AmqpProtocolException>(error).ReplyCode),
            recovers: true);

    [Fact]
    public Task Server_that_accepts_tcp_and_never_speaks_times_out() =>
        RunHandshakeFaultAsync(
            async server =>
            {
                await server.AcceptAndReadHeaderAsync();
                await server.WaitForDisconnectAsync();
            },
            error =>
            {
                // Its own bound, not the (much longer) TCP connect timeout; the message names the stage.
                var timeout = Assert.IsType<TimeoutException>(error);
                Assert.Contains("AMQP handshake", timeout.Message, StringComparison.Ordinal);
                Assert.Contains("connection.start", timeout.Message, StringComparison.Ordinal);
            },
            recovers: true,
            connectionTimeout: TimeSpan.FromSeconds(30),
            handshakeTimeout: TimeSpan.FromSeconds(1),
            maxTimeToError: TimeSpan.FromSeconds(6));

    [Fact]
    public Task Server_that_stops_after_start_ok_times_out_naming_connection_tune() =>
        RunHandshakeFaultAsync(
            async server =>
            {
                await server.AcceptAndReadHeaderAsync();
                await server.SendStartAndReadStartOkAsync();
                await server.WaitForDisconnectAsync();
            },
            error =>
            {
                var timeout = Assert.IsType<TimeoutException>(error);
                Assert.Contains("AMQP handshake", timeout.Message, StringComparison.Ordinal);
                Assert.Contains("connection.tune", timeout.Message, StringComparison.Ordinal);
            },
            recovers: true,
            connectionTimeout: TimeSpan.FromSeconds(30),
            handshakeTimeout: TimeSpan.FromSeconds(1),
            maxTimeToError: TimeSpan.FromSeconds(6));

    [Fact]
    public Task Server_that_closes_mid_handshake_after_start_ok_is_a_transient_failure() =>
        RunHandshakeFaultAsync(
            async server =>
            {
                await server.AcceptAndReadHeaderAsync();
                await server.SendStartAndReadStartOkAsync();
                server.DropClient();
            },
            error =>
            {
                // The client advertises authentication_failure_close, so a broker that refuses the credentials
                // says so with 403; a bare EOF is a node going away or a timeout on its side: retried.
                var lost = Assert.IsType<AmqpConnectionLostException>(error);
                Assert.Contains("closed the connection during the handshake", lost.Message, StringComparison.Ordinal);
            },
            recovers: true);

    [Theory]
    [InlineData(AmqpReplyCode.NotAllowed, "vhost not found")]
    [InlineData(AmqpReplyCode.ConnectionForced, "broker forced connection closure with reason 'shutdown'")]
    public Task Connection_close_other_than_403_during_the_handshake_is_a_transient_failure(ushort code, string text) =>
        RunHandshakeFaultAsync(
            async server =>
            {
                await server.AcceptAndReadHeaderAsync();
                await server.SendStartAndReadStartOkAsync();
                await server.SendMethodAsync(0, new ConnectionTune(2047, 131_072, 0));
                await server.ReadMethodAsync(0, MethodIds.ConnectionTuneOk);
                await server.ReadMethodAsync(0, MethodIds.ConnectionOpen);
                await server.SendMethodAsync(0, new ConnectionClose(code, text, 10, 40));
                await server.ReadMethodAsync(0, MethodIds.ConnectionCloseOk);
                server.DropClient();
            },
            error =>
            {
                var closed = Assert.IsType<AmqpConnectionException>(error);
                Assert.Equal(code, closed.ReplyCode);
                Assert.Equal(text, closed.ReplyText);
            },
            recovers: true);

    [Fact]
    public Task Access_refused_during_the_handshake_is_permanent() =>
        RunHandshakeFaultAsync(
            async server =>
            {
                await server.AcceptAndReadHeaderAsync();
                await server.SendStartAndReadStartOkAsync();
                await server.SendMethodAsync(0, new ConnectionClose(AmqpReplyCode.AccessRefused, "ACCESS_REFUSED - Login was refused", 0, 0));
            },
            error =>
            {
                var auth = Assert.IsType<AmqpAuthenticationException>(error);
                Assert.Contains("Login was refused", auth.Message, StringComparison.Ordinal);
            },
            recovers: false);

    // ------------------------------------------------------------------ harness

    private static AmqpConnectionOptions OptionsFor(int port, ushort heartbeat = 0, TimeSpan? connectionTimeout = null, TimeSpan? handshakeTimeout = null) => new()
    {
        Endpoints = [new AmqpEndpoint("127.0.0.1", port)],
        InitialConnectTimeout = TimeSpan.FromSeconds(12),
        ConnectionTimeout = connectionTimeout ?? TimeSpan.FromSeconds(5),
        HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(5),
        Heartbeat = TimeSpan.FromSeconds(heartbeat),
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
    };

    private async Task RunAfterHandshakeAsync(ushort? expectedCode, bool openChannel, Func<ScriptedAmqpServer, Task> misbehave,
        Action<Exception>? check = null, ushort heartbeat = 0, ushort[]? expectClose = null)
    {
        var sw = Stopwatch.StartNew();
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        var errors = System.Threading.Channels.Channel.CreateUnbounded<Exception>();
        await using var conn = new AmqpConnection(OptionsFor(server.Port, heartbeat));
        conn.ConnectionLost += (_, e) => errors.Writer.TryWrite(e.Cause);

        var handshake = server.AcceptAndHandshakeAsync(new ScriptedHandshake { Heartbeat = heartbeat });
        await conn.ConnectAsync(ct);
        await handshake.WaitAsync(ct);
        Assert.Equal(1, conn.Generation);

        if (openChannel)
        {
            var consumer = OpenChannelAndConsumeAsync(conn, ct);
            await server.AnswerChannelOpenAndConsumeAsync();
            await consumer.WaitAsync(ct);
        }

        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        await misbehave(server);

        ushort[] closeCodes = expectedCode is { } code ? [code] : expectClose ?? [];
        if (closeCodes.Length > 0)
        {
            var close = await server.ReadConnectionCloseAsync();
            Assert.Contains(close.ReplyCode, closeCodes);
        }
        else
        {
            await server.WaitForDisconnectAsync();
        }

        var reported = await errors.Reader.ReadAsync(ct);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Assert.True(allocated < AllocationBound, $"{allocated} bytes were allocated while handling the scenario.");

        if (closeCodes.Length > 0)
        {
            var protocolError = reported as AmqpProtocolException
                ?? (reported as AmqpConnectionLostException)?.InnerException as AmqpProtocolException;
            Assert.True(protocolError is not null, $"Expected an AmqpProtocolException, got {reported}");
            Assert.Contains(protocolError.ReplyCode, closeCodes);
            Assert.False(string.IsNullOrWhiteSpace(protocolError.ReplyText));
        }

        check?.Invoke(reported);

        // The reconnect loop is alive: the next connection is made and works.
        await server.AcceptAndHandshakeAsync();
        await WaitUntilAsync(() => conn.Generation == 2 && conn.IsConnected, ct);
        var channel = conn.AllocateChannelAsync(cancellationToken: ct);
        await server.AnswerChannelOpenAsync(1);
        Assert.True((await channel.WaitAsync(ct)).IsOpen);

        await CloseCleanlyAsync(conn, server, ct);
        monitor.AssertNone();
        Assert.True(sw.Elapsed < TestTimeout, $"The scenario took {sw.Elapsed}.");
    }

    private async Task RunHandshakeFaultAsync(Func<ScriptedAmqpServer, Task> misbehave, Action<Exception> check, bool recovers,
        TimeSpan? connectionTimeout = null, TimeSpan? handshakeTimeout = null, TimeSpan? maxTimeToError = null)
    {
        var sw = Stopwatch.StartNew();
        using var cts = new CancellationTokenSource(TestTimeout);
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(OptionsFor(server.Port, connectionTimeout: connectionTimeout, handshakeTimeout: handshakeTimeout)
            with { LoggerFactory = log.CreateFactory() });

        var connect = conn.ConnectAsync(ct);
        // Observed even when an assertion below fails first: its exception must not surface in another test.
        _ = connect.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        await misbehave(server);
        var reported = (await log.NextAsync(LogEvents.AttemptFailed, ct)).Exception!;
        Assert.True(sw.Elapsed < (maxTimeToError ?? TestTimeout), $"The error took {sw.Elapsed} to be reported.");
        check(reported);

        if (recovers)
        {
            await server.AcceptAndHandshakeAsync();
            await connect.WaitAsync(ct);
            Assert.Equal(1, conn.Generation);
            Assert.True(conn.IsConnected);
            await CloseCleanlyAsync(conn, server, ct);
        }
        else
        {
            var thrown = await Assert.ThrowsAnyAsync<Exception>(() => connect.WaitAsync(ct));
            check(thrown);
            Assert.Equal(0, conn.Generation);
            Assert.True(conn.Completion.IsCompleted);
            _ = conn.Completion.Exception;
        }

        monitor.AssertNone();
        Assert.True(sw.Elapsed < TestTimeout, $"The scenario took {sw.Elapsed}.");
    }

    private static async Task CloseCleanlyAsync(AmqpConnection conn, ScriptedAmqpServer server, CancellationToken ct)
    {
        var closing = conn.CloseAsync(ct);
        var close = await server.ReadConnectionCloseAsync();
        Assert.Equal(AmqpReplyCode.Success, close.ReplyCode);
        await server.SendMethodAsync(0, new ConnectionCloseOk());
        await closing.WaitAsync(ct);
    }

    private static async Task OpenChannelAndConsumeAsync(AmqpConnection conn, CancellationToken ct)
    {
        var channel = await conn.AllocateChannelAsync(cancellationToken: ct);
        Assert.Equal(1, channel.ChannelNumber);
        await channel.BasicConsumeAsync("q", new ConsumeOptions { Prefetch = 10 }, ct);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken ct)
    {
        while (!condition())
        {
            await Task.Delay(10, ct);
        }
    }

    /// <summary>A content header payload for class basic: class, weight, body size, flags, then <paramref name="properties"/> raw.</summary>
    internal static byte[] ContentHeaderPayload(ulong bodySize, ushort flags, ReadOnlySpan<byte> properties)
    {
        byte[] payload = new byte[14 + properties.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, 60);
        BinaryPrimitives.WriteUInt64BigEndian(payload.AsSpan(4), bodySize);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(12), flags);
        properties.CopyTo(payload.AsSpan(14));
        return payload;
    }

    /// <summary>A field table nesting <paramref name="depth"/> tables: {"k": {"k": ... {}}}, with consistent lengths.</summary>
    internal static byte[] NestedTable(int depth)
    {
        // A table at level i (0 = outermost) holds 7 * (depth - 1 - i) bytes: key length, 'k', 'F', inner length, ...
        const int Entry = 3;
        byte[] bytes = new byte[(4 * depth) + (Entry * (depth - 1))];
        int p = 0;
        for (int level = 0; level < depth; level++)
        {
            int inner = (depth - 1 - level) * (4 + Entry);
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(p), (uint)inner);
            p += 4;
            if (level < depth - 1)
            {
                bytes[p++] = 1;
                bytes[p++] = (byte)'k';
                bytes[p++] = (byte)'F';
            }
        }

        return bytes;
    }
}
