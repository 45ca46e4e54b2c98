using System.Collections.Concurrent;
using static Nucleon.Pipes.Tests.Integration.Faults.FaultSupport;

namespace Nucleon.Pipes.Tests.Integration.Cluster;

/// <summary>
/// Consumes a queue with the connection-level <see cref="AmqpConnection.ConsumeAsync"/> (which subscribes
/// again after a reconnect or a broker-side cancel) and records the id of every delivery.
/// </summary>
internal sealed class IdConsumer(AmqpConnection connection, string queue, ushort prefetch = 200)
{
    private long _deliveries;
    private long _ackFailures;

    /// <summary>Distinct ids received, with how often each came.</summary>
    public ConcurrentDictionary<long, int> Received { get; } = new();

    public long Deliveries => Interlocked.Read(ref _deliveries);

    /// <summary>Acks that failed because their channel died (the broker redelivers those messages).</summary>
    public long AckFailures => Interlocked.Read(ref _ackFailures);

    /// <summary>Consumes until <paramref name="stop"/>; any other end of the stream faults the task.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var m in connection.ConsumeAsync(queue, new ConsumeOptions { Prefetch = prefetch }, stop))
            {
                Received.AddOrUpdate(Id(m.Body), 1, (_, n) => n + 1);
                Interlocked.Increment(ref _deliveries);
                try
                {
                    await m.AckAsync(cancellationToken: stop);
                }
                catch (AmqpConnectionLostException)
                {
                    Interlocked.Increment(ref _ackFailures);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
