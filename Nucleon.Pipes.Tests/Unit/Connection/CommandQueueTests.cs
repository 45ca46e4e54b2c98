using Nucleon.Pipes.Connection;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Connection;

public sealed class CommandQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static OutboundCommand Command(int producer, int seq) => TaggedCommand.Create(producer, seq);

    [Fact]
    public async Task A_full_queue_refuses_and_a_waiting_producer_is_woken_only_at_half()
    {
        var q = new CommandQueue(8);
        for (int i = 0; i < 8; i++)
        {
            Assert.True(q.TryAdd(Command(0, i)));
        }

        Assert.False(q.TryAdd(Command(0, 8)));
        var room = q.WaitForRoomAsync(CancellationToken.None).AsTask();
        for (int taken = 1; taken <= 3; taken++)
        {
            Assert.True(q.TryTake(out var c));
            c.Release();
            Assert.False(room.IsCompleted, $"woken after {taken} of 8 were taken; the low-water mark is 4 left");
        }

        Assert.True(q.TryTake(out var fourth));
        fourth.Release();
        Assert.True(await room.WaitAsync(Timeout));
    }

    [Fact]
    public async Task The_byte_bound_refuses_once_reached_and_wakes_at_half_the_bytes()
    {
        // Room for 1,000 commands but 64 bytes: eight 8-byte commands fill it, whatever the count says.
        var q = new CommandQueue(1_000, byteCapacity: 64);
        for (int i = 0; i < 8; i++)
        {
            Assert.True(q.TryAdd(Command(0, i)));
        }

        Assert.Equal(64, q.Bytes);
        Assert.False(q.TryAdd(Command(0, 8)));
        Assert.Equal(64, q.Bytes); // the refused command left no trace
        var room = q.WaitForRoomAsync(CancellationToken.None).AsTask();
        for (int taken = 1; taken <= 3; taken++)
        {
            Assert.True(q.TryTake(out var c));
            c.Release();
            Assert.False(room.IsCompleted, $"woken after {taken} commands were taken; the low-water mark is 32 bytes");
        }

        Assert.True(q.TryTake(out var fourth));
        fourth.Release();
        Assert.True(await room.WaitAsync(Timeout));
        Assert.Equal(32, q.Bytes);
        q.Complete();
        q.DrainAndRelease();
        Assert.Equal(0, q.Bytes);
    }

    [Fact]
    public void A_command_larger_than_the_byte_bound_goes_through_an_empty_queue_alone()
    {
        var q = new CommandQueue(1_000, byteCapacity: 4);
        Assert.True(q.TryAdd(Command(0, 0))); // 8 bytes > 4: accepted, the queue was empty
        Assert.False(q.TryAdd(Command(0, 1)));
        Assert.True(q.TryTake(out var c));
        c.Release();
        Assert.True(q.TryAdd(Command(0, 2)));
        q.Complete();
        q.DrainAndRelease();
    }

    [Fact]
    public async Task Completion_wakes_waiting_producers_with_false_and_later_adds_are_refused()
    {
        var q = new CommandQueue(1);
        Assert.True(q.TryAdd(Command(0, 0)));
        var room = q.WaitForRoomAsync(CancellationToken.None).AsTask();
        q.Complete();
        Assert.False(await room.WaitAsync(Timeout));
        Assert.False(q.TryAdd(Command(0, 1)));
        Assert.True(q.TryTake(out var kept)); // added before completion: still there for the writer
        kept.Release();
        Assert.False(await q.WaitForRoomAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_cancelled_wait_for_room_throws()
    {
        var q = new CommandQueue(1);
        Assert.True(q.TryAdd(Command(0, 0)));
        using var cts = new CancellationTokenSource();
        var room = q.WaitForRoomAsync(cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => room.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Many_producers_and_one_consumer_lose_nothing_and_keep_each_producers_order()
    {
        const int producers = 4, perProducer = 50_000;
        var q = new CommandQueue(64);
        var tasks = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            for (int i = 0; i < perProducer; i++)
            {
                var c = Command(p, i);
                while (!q.TryAdd(c))
                {
                    Assert.True(await q.WaitForRoomAsync(CancellationToken.None));
                }
            }
        })).ToArray();

        var next = new int[producers];
        int total = 0;
        var deadline = DateTime.UtcNow + Timeout;
        while (total < producers * perProducer)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {total} taken");
            if (!q.TryTake(out var c))
            {
                await Task.Yield();
                continue;
            }

            var (p, seq) = TaggedCommand.Read(c.Buffer);
            Assert.Equal(next[p], seq);
            next[p]++;
            total++;
            c.Release();
        }

        await Task.WhenAll(tasks).WaitAsync(Timeout);
        Assert.False(q.TryTake(out _));
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public async Task Completing_while_producers_add_leaves_nothing_behind_after_the_final_drain()
    {
        for (int round = 0; round < 200; round++)
        {
            var q = new CommandQueue(1_000);
            using var go = new ManualResetEventSlim();
            int accepted = 0;
            var adders = Enumerable.Range(0, 2).Select(p => Task.Run(() =>
            {
                go.Wait();
                for (int i = 0; i < 500; i++)
                {
                    if (q.TryAdd(Command(p, i)))
                    {
                        Interlocked.Increment(ref accepted);
                    }
                }
            })).ToArray();
            go.Set();
            q.Complete();
            int drained = 0;
            while (q.TryTake(out var c))
            {
                c.Release();
                drained++;
            }

            await Task.WhenAll(adders).WaitAsync(Timeout);
            Assert.Equal(accepted, drained); // nothing was accepted after the drain that followed Complete
            Assert.Equal(0, q.Count);
        }
    }
}
