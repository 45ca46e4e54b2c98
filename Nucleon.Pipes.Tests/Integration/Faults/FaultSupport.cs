using System.Buffers.Binary;
using System.Diagnostics;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary>Shared bits of the fault tests: options, message ids, bounded waits.</summary>
internal static class FaultSupport
{
    /// <summary>NUCLEON_SOAK=1 runs the longer variants (scripts/soak.sh).</summary>
    public static bool Soak => Environment.GetEnvironmentVariable("NUCLEON_SOAK") == "1";

    public static readonly ChannelOptions Confirming = new() { PublisherConfirms = true };

    public static readonly BasicProperties Persistent = new() { DeliveryMode = DeliveryMode.Persistent };

    /// <summary>Options for the fault node with a quick reconnect back-off.</summary>
    public static AmqpConnectionOptions Options(BrokerFixture broker, string name) =>
        AmqpConnectionOptions.Parse(broker.AmqpUri) with
        {
            ClientProvidedName = name,
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
            ConnectionTimeout = TimeSpan.FromSeconds(10),
        };

    /// <summary>Options that go through a <see cref="TcpFaultProxy"/> instead of straight to the node.</summary>
    public static AmqpConnectionOptions ViaProxy(BrokerFixture broker, TcpFaultProxy proxy, string name) =>
        Options(broker, name) with { Endpoints = [new AmqpEndpoint("127.0.0.1", proxy.Port)] };

    public static string QueueName(string test) => $"nucleon.faults.{test}.{Guid.NewGuid():N}";

    public static byte[] Body(long id)
    {
        var body = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(body, id);
        return body;
    }

    public static long Id(ReadOnlyMemory<byte> body) => BinaryPrimitives.ReadInt64BigEndian(body.Span);

    /// <summary>Declares <paramref name="queue"/> (idempotent) on a channel rented inside an on-connect hook.</summary>
    public static Func<AmqpConnection, CancellationToken, Task> DeclareHook(string queue, bool quorum = false) => async (c, ct) =>
    {
        await using var channel = await c.RentChannelAsync(cancellationToken: ct);
        IDictionary<string, object?>? arguments = quorum ? new Dictionary<string, object?> { ["x-queue-type"] = "quorum" } : null;
        await channel.QueueDeclareAsync(queue, durable: quorum, arguments: arguments, cancellationToken: ct);
    };

    /// <summary>Polls <paramref name="condition"/> every 20 ms until true; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(condition, timeout, () => what);

    /// <summary>As above; <paramref name="what"/> is evaluated on timeout, so it can describe the state then.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what()}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Deletes a queue at the end of a test; errors are ignored (the node is private anyway).</summary>
    public static async Task DeleteQueueQuietlyAsync(BrokerFixture broker, string queue)
    {
        try
        {
            await using var c = new AmqpConnection(Options(broker, "cleanup"));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await c.ConnectAsync(cts.Token);
            await using var ch = await c.RentChannelAsync(cancellationToken: cts.Token);
            await ch.QueueDeleteAsync(queue, cancellationToken: cts.Token);
        }
        catch (Exception)
        {
        }
    }
}
