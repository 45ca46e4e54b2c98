using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Nucleon.Pipes.Connection;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Transport;

namespace Nucleon.Pipes.Tests.Unit.Connection;

/// <summary>
/// The connection's writer on an in-memory pipe: who runs it (the caller after a quiet spell, the thread pool within
/// a stream) and what it guarantees either way (every command written, each channel's in order).
/// </summary>
public sealed class OutboundWriterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static OutboundCommand Command(int channel, int seq) => TaggedCommand.Create(channel, seq);

    // Lets a quiet spell pass by the clock the writer reads (a condition on time itself, not a wait for an event).
    private static void LetAQuietSpellPass()
    {
        long start = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() - start <= 2 * QuietSpell.Ticks)
        {
            Thread.SpinWait(20);
        }
    }

    [Fact]
    public async Task A_lone_command_after_a_quiet_spell_is_written_on_the_callers_thread()
    {
        var pipe = new Pipe();
        var writer = new OutboundWriter(pipe.Writer, 16, TimeProvider.System);
        var run = writer.RunAsync();
        var queue = writer.CreateQueue(1, 16);

        for (int i = 0; i < 3; i++)
        {
            LetAQuietSpellPass();
            Assert.True(queue.TryEnqueue(Command(1, i)));
            // Written before TryEnqueue returned: no thread-pool hop for a lone command (an RPC's request).
            Assert.Equal(8L * (i + 1), writer.BytesWritten);
        }

        writer.Stop(null);
        Assert.Null(await run.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_stream_from_many_threads_arrives_whole_and_in_each_channels_order()
    {
        // 4 channels, each fed by its own task as fast as it can: most wake-ups fall within a stream and go
        // through the thread pool. Every command must arrive, each channel's in the order it was queued.
        const int channels = 4;
        const int perChannel = 20_000;
        var pipe = new Pipe();
        var writer = new OutboundWriter(pipe.Writer, 16, TimeProvider.System);
        var run = writer.RunAsync();
        var queues = Enumerable.Range(1, channels).Select(c => writer.CreateQueue((ushort)c, 64)).ToArray();

        var reading = Task.Run(async () =>
        {
            var next = new int[channels + 1];
            long total = 0;
            while (total < channels * perChannel)
            {
                var result = await pipe.Reader.ReadAsync();
                var buffer = result.Buffer;
                var record = new byte[TaggedCommand.Size];
                while (buffer.Length >= TaggedCommand.Size)
                {
                    buffer.Slice(0, TaggedCommand.Size).CopyTo(record);
                    var (channel, seq) = TaggedCommand.Read(record);
                    Assert.Equal(next[channel], seq);
                    next[channel]++;
                    total++;
                    buffer = buffer.Slice(TaggedCommand.Size);
                }

                pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
                Assert.False(result.IsCompleted, $"the writer stopped after {total} commands");
            }
        });

        var producers = queues.Select((q, i) => Task.Run(async () =>
        {
            for (int seq = 0; seq < perChannel; seq++)
            {
                await q.EnqueueAsync(Command(i + 1, seq), CancellationToken.None);
            }
        })).ToArray();

        await Task.WhenAll(producers).WaitAsync(Timeout);
        await reading.WaitAsync(Timeout);
        Assert.Equal(8L * channels * perChannel, writer.BytesWritten);
        writer.Stop(null);
        Assert.Null(await run.WaitAsync(Timeout));
    }
}
