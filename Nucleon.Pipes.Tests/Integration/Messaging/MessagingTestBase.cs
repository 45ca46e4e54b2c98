using System.Text;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>
/// Shared plumbing for the messaging integration tests: one connection per test to the fixture's real
/// broker, a 60 s budget for the whole test (every call gets <see cref="Ct"/>), unique names, and
/// cleanup of every queue and exchange a test named through <see cref="NewQueue"/> / <see cref="NewExchange"/>.
/// </summary>
public abstract class MessagingTestBase(BrokerFixture broker) : IAsyncLifetime
{
    /// <summary>How long a test may wait for something the broker must do "soon" but has not yet.</summary>
    protected static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    private readonly List<string> _queues = [];
    private readonly List<string> _exchanges = [];
    private readonly List<AmqpConnection> _connections = [];

    protected BrokerFixture Broker { get; } = broker;

    protected CancellationTokenSource Cts { get; } = new(TimeSpan.FromSeconds(60));

    protected CancellationToken Ct => Cts.Token;

    /// <summary>The test's connection (default options).</summary>
    protected AmqpConnection Conn { get; private set; } = null!;

    public virtual async Task InitializeAsync() => Conn = await ConnectAsync();

    public async Task DisposeAsync()
    {
        try
        {
            // Close the test's connections first: their exclusive queues go with them.
            foreach (var c in _connections)
            {
                await c.DisposeAsync();
            }

            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            if (_queues.Count + _exchanges.Count > 0)
            {
                await using var conn = new AmqpConnection(Broker.AmqpUri);
                await conn.ConnectAsync(cleanup.Token);
                await using var ch = await conn.AllocateChannelAsync(cancellationToken: cleanup.Token);
                foreach (var q in _queues)
                {
                    // queue.delete / exchange.delete of a missing one is ok in RabbitMQ (idempotent).
                    await ch.QueueDeleteAsync(q, cancellationToken: cleanup.Token);
                }

                foreach (var x in _exchanges)
                {
                    await ch.ExchangeDeleteAsync(x, cancellationToken: cleanup.Token);
                }
            }
        }
        finally
        {
            Cts.Dispose();
        }
    }

    /// <summary>A new connection to the fixture's broker, optionally with URI query parameters (e.g. "frame_max=4096") and a logger factory.</summary>
    protected async Task<AmqpConnection> ConnectAsync(string? query = null, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        var uri = Broker.AmqpUri;
        if (query is not null)
        {
            uri += (uri.Contains('?') ? "&" : "?") + query;
        }

        var options = AmqpConnectionOptions.Parse(uri);
        var conn = new AmqpConnection(loggerFactory is null ? options : options with { LoggerFactory = loggerFactory });
        _connections.Add(conn);
        await conn.ConnectAsync(Ct);
        return conn;
    }

    /// <summary>A unique queue name, deleted after the test.</summary>
    protected string NewQueue(string what = "q")
    {
        var name = $"nucleon.it.{what}.{Guid.NewGuid():N}";
        _queues.Add(name);
        return name;
    }

    /// <summary>A unique exchange name, deleted after the test.</summary>
    protected string NewExchange(string what = "x")
    {
        var name = $"nucleon.it.{what}.{Guid.NewGuid():N}";
        _exchanges.Add(name);
        return name;
    }

    /// <summary>Declares a fresh (non-durable) queue and returns its name.</summary>
    protected async Task<string> DeclareQueueAsync(IDictionary<string, object?>? arguments = null, string what = "q")
    {
        var q = NewQueue(what);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var ok = await ch.QueueDeclareAsync(q, arguments: arguments, cancellationToken: Ct);
        Assert.Equal(q, ok.QueueName);
        return q;
    }

    /// <summary>Ready messages in a queue, by a passive declare on a fresh channel.</summary>
    protected async Task<uint> ReadyCountAsync(string queue, AmqpConnection? conn = null)
    {
        await using var ch = await (conn ?? Conn).AllocateChannelAsync(cancellationToken: Ct);
        return (await ch.QueueDeclareAsync(queue, passive: true, cancellationToken: Ct)).MessageCount;
    }

    /// <summary>Publishes on a confirm channel so the message is known to be in the queue(s) when this returns.</summary>
    protected async Task PublishConfirmedAsync(string exchange, string routingKey, string body, BasicProperties? properties = null)
    {
        await using var ch = await Conn.RentChannelAsync(new ChannelOptions { PublisherConfirms = true }, Ct);
        await ch.PublishAsync(exchange, routingKey, Encoding.UTF8.GetBytes(body), properties, cancellationToken: Ct);
    }

    protected static string Text(Message m) => Encoding.UTF8.GetString(m.Body.Span);

    protected static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>Asserts that <paramref name="pending"/> does NOT complete within <see cref="Quiet"/>.</summary>
    protected static async Task AssertStaysPendingAsync(Task pending, string what)
    {
        var winner = await Task.WhenAny(pending, Task.Delay(Quiet));
        Assert.False(ReferenceEquals(winner, pending), $"{what} completed but should not have (status {pending.Status}).");
    }

    /// <summary>
    /// Runs <paramref name="call"/> and returns the exception it raised "at once": thrown synchronously,
    /// or a task that is already faulted when the call returns (never one that completes later).
    /// </summary>
    protected static Exception ThrowsAtOnce(Func<ValueTask> call)
    {
        ValueTask task;
        try
        {
            task = call();
        }
        catch (Exception ex)
        {
            return ex;
        }

        Assert.True(task.IsCompleted, "The call did not fail at once: it returned a pending task.");
        Assert.True(task.IsFaulted, "The call completed without an error.");
        return task.AsTask().Exception!.InnerException!;
    }
}
