using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Security;

/// <summary>
/// The password never shows in exception messages (with their inner exceptions and stack traces),
/// ToString() of options and connection, or OnError reports, on the failure paths that need no broker.
/// </summary>
[Collection(HostileCollection.Name)]
public sealed class SecretTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Distinctive and unique per test, so any fragment of it found in a text is a leak.</summary>
    internal static string NewPassword() => "Zebra7Qx" + Guid.NewGuid().ToString("N")[..12] + "Quokka";

    internal static void AssertHidden(string password, string? text, string where)
    {
        Assert.NotNull(text);
        Assert.False(text.Contains(password, StringComparison.Ordinal), $"{where} shows the password: {text}");
        // No fragment of it either (a malformed URI must not leak the part before a stray character).
        foreach (string fragment in new[] { password[..10], password[8..20], password[^10..] })
        {
            Assert.False(text.Contains(fragment, StringComparison.Ordinal), $"{where} shows part of the password ({fragment}): {text}");
        }
    }

    [Fact]
    public void Options_and_connection_ToString_mask_the_password()
    {
        string password = NewPassword();
        var options = new AmqpConnectionOptions { Password = password, UserName = "alice" };
        AssertHidden(password, options.ToString(), "options.ToString()");
        AssertHidden(password, (options with { VirtualHost = "v" }).ToString(), "options with { }.ToString()");
        AssertHidden(password, new AmqpConnection(options).ToString(), "connection.ToString()");
        AssertHidden(password, AmqpConnectionOptions.Parse($"amqp://alice:{password}@localhost/").ToString(), "parsed options");
        Assert.Contains("alice", options.ToString(), StringComparison.Ordinal);
    }

    /// <summary>No log entry shows the password: not its line, its exception, nor any structured field.</summary>
    internal static void AssertHiddenInLog(string password, RecordingLoggerProvider log)
    {
        var entries = log.Entries;
        Assert.NotEmpty(entries);
        foreach (var entry in entries)
        {
            AssertHidden(password, entry.Message, $"log entry {entry.EventId.Id}");
            AssertHidden(password, entry.Exception?.ToString() ?? "", $"the exception of log entry {entry.EventId.Id}");
            foreach (var (key, value) in entry.Fields)
            {
                AssertHidden(password, value?.ToString() ?? "", $"field {key} of log entry {entry.EventId.Id}");
            }
        }
    }

    public static TheoryData<string> MalformedUris => new()
    {
        "amqp://guest:{pw}@localhost:notaport/",
        "amqp://guest:{pw}@localhost:99999/",
        "amqp:/guest:{pw}@localhost/",
        "amqp//guest:{pw}@localhost/",
        "guest:{pw}@localhost",
        "http://guest:{pw}@localhost/",
        "amqp://guest:{pw}@localhost/a/b",
        "amqp://guest:{pw}@localhost/?heartbeat=abc",
        "amqp://guest:{pw}@localhost/?nope=1",
        "amqp://guest:{pw}%zz@localhost/",
        "amqp://guest:{pw}@:5672/",
        "amqp://guest:{pw}@[::1/",
        "amqp://guest:{pw}@host1,,host2/",
        "amqp://guest:{pw}/tail@localhost:notaport/",
        "amqp://guest:{pw}?x@localhost:notaport/",
        "amqp://guest:{pw}#frag@localhost:bad/",
        "amqp://guest:{pw}@localhost/%zz",
        "amqp://guest:{pw}@localhost:5672?frame_max=1",
    };

    [Theory]
    [MemberData(nameof(MalformedUris))]
    public void Malformed_uris_never_show_the_password(string shape)
    {
        string password = NewPassword();
        string uri = shape.Replace("{pw}", password, StringComparison.Ordinal);

        var parse = Record.Exception(() => AmqpConnectionOptions.Parse(uri));
        Assert.True(parse is UriFormatException or ArgumentException, $"Parsing {shape} gave {parse?.GetType().Name ?? "no exception"}");
        AssertHidden(password, parse!.ToString(), $"Parse(\"{shape}\")");

        var construct = Record.Exception(() => new AmqpConnection(uri));
        Assert.NotNull(construct);
        AssertHidden(password, construct.ToString(), $"new AmqpConnection(\"{shape}\")");
    }

    [Fact]
    public async Task Connection_refused_reports_never_show_the_password()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        string password = NewPassword();
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
        }

        var reports = new ConcurrentQueue<Exception>();
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(new AmqpConnectionOptions
        {
            Endpoints = [new AmqpEndpoint("127.0.0.1", port)],
            Password = password,
            InitialConnectTimeout = TimeSpan.FromSeconds(1.5),
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            LoggerFactory = log.CreateFactory(),
        });
        conn.OnError((_, ex) =>
        {
            reports.Enqueue(ex);
            return ValueTask.CompletedTask;
        });

        var ex = await Assert.ThrowsAnyAsync<AmqpException>(() => conn.ConnectAsync(cts.Token));
        AssertHidden(password, ex.ToString(), "ConnectAsync's exception");
        AssertHidden(password, conn.ToString(), "connection.ToString()");
        Assert.NotEmpty(reports);
        foreach (var report in reports)
        {
            AssertHidden(password, report.ToString(), "an OnError report");
        }

        var completion = await Assert.ThrowsAnyAsync<Exception>(() => conn.Completion.WaitAsync(cts.Token));
        AssertHidden(password, completion.ToString(), "Completion's exception");
        Assert.NotEmpty(log.AttemptFailures);
        AssertHiddenInLog(password, log);
    }

    [Fact]
    public async Task Handshake_timeout_reports_never_show_the_password()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        string password = NewPassword();
        await using var server = new ScriptedAmqpServer(cts.Token);
        var reports = new ConcurrentQueue<Exception>();
        using var log = new RecordingLoggerProvider();
        await using var conn = new AmqpConnection(new AmqpConnectionOptions
        {
            Endpoints = [new AmqpEndpoint("127.0.0.1", server.Port)],
            UserName = "alice",
            Password = password,
            HandshakeTimeout = TimeSpan.FromSeconds(1),
            InitialConnectTimeout = TimeSpan.FromSeconds(2.5),
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            LoggerFactory = log.CreateFactory(),
        });
        conn.OnError((_, ex) =>
        {
            reports.Enqueue(ex);
            return ValueTask.CompletedTask;
        });

        // The server accepts every attempt and never says a word.
        using var accepting = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var silent = Task.Run(async () =>
        {
            while (!accepting.IsCancellationRequested)
            {
                await server.AcceptAsync();
            }
        }, CancellationToken.None);

        var ex = await Assert.ThrowsAnyAsync<AmqpException>(() => conn.ConnectAsync(cts.Token));
        await accepting.CancelAsync();
        AssertHidden(password, ex.ToString(), "ConnectAsync's exception");
        Assert.Contains(log.AttemptFailures, r => r is TimeoutException);
        Assert.NotEmpty(reports);
        foreach (var report in reports)
        {
            AssertHidden(password, report.ToString(), "an OnError report");
        }

        AssertHiddenInLog(password, log);

        AssertHidden(password, conn.ToString(), "connection.ToString()");
        // The accept loop ends when the server is disposed.
        _ = silent.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }
}
