using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Benchmarks.Micro;

/// <summary>
/// The bookkeeping of a confirmed publish on one thread, without a socket: a batch of publishes queued through the
/// <see cref="ConfirmTracker"/> (against the same commands queued without it), drained by the writer's turn, one
/// <c>basic.ack(multiple)</c> for the batch, and every publish awaited. The difference between the two rows is what
/// tracking costs per publish when no other thread touches the same objects.
/// </summary>
[Config(typeof(MicroConfig))]
public class ConfirmTrackerBenchmarks
{
    private const int Batch = 1000;
    private const int CommandSize = 64;
    private Pipe _pipe = null!;
    private OutboundWriter _writer = null!;
    private OutboundQueue _queue = null!;
    private ConfirmTracker _tracker = null!;
    private readonly ValueTask[] _publishes = new ValueTask[Batch];
    private ulong _sequence;

    [GlobalSetup]
    public void Setup()
    {
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
        _writer = new OutboundWriter(_pipe.Writer, 64, TimeProvider.System);
        _queue = _writer.CreateQueue(1, 2 * Batch);
        _tracker = new ConfirmTracker(Batch);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch, Description = "queue a publish, no confirm (per publish, one thread)")]
    public async Task Untracked()
    {
        for (int i = 0; i < Batch; i++)
        {
            _queue.TryEnqueue(new OutboundCommand(OutboundCommand.Rent(CommandSize), CommandSize));
        }

        await DrainAsync();
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "queue a confirmed publish, ack(multiple), await it (per publish, one thread)")]
    public async Task Tracked()
    {
        for (int i = 0; i < Batch; i++)
        {
            _publishes[i] = _tracker.PublishAsync(_queue, new OutboundCommand(OutboundCommand.Rent(CommandSize), CommandSize), CancellationToken.None);
        }

        await DrainAsync();
        _sequence += Batch;
        _tracker.Confirm(_sequence, multiple: true, ack: true);
        for (int i = 0; i < Batch; i++)
        {
            await _publishes[i];
        }
    }

    // The writer's side: one turn copies the queued commands into the pipe (releasing them), which is then emptied.
    private async Task DrainAsync()
    {
        _queue.WriteTurn(_writer, int.MaxValue, out _, out _);
        _queue.Unschedule();
        await _pipe.Writer.FlushAsync();
        var read = await _pipe.Reader.ReadAsync();
        _pipe.Reader.AdvanceTo(read.Buffer.End);
    }
}
