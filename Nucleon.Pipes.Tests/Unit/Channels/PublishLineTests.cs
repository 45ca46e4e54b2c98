#pragma warning disable CA2012 // these tests look at whether a ValueTask is already complete before consuming it, once

using Nucleon.Pipes.Channels;

namespace Nucleon.Pipes.Tests.Unit.Channels;

/// <summary>The line that publishes which cannot be queued at once go through: order, cancellation, reuse of places.</summary>
public sealed class PublishLineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Waiters_get_the_head_of_the_line_in_the_order_they_arrived()
    {
        var line = new PublishLine();
        Assert.True(line.EnterAsync(CancellationToken.None).IsCompletedSuccessfully);
        var order = new List<int>();
        var waits = new List<Task>();
        for (int i = 0; i < 50; i++)
        {
            int n = i;
            var entered = line.EnterAsync(CancellationToken.None);
            Assert.False(entered.IsCompleted);
            waits.Add(InTurn(entered, () => order.Add(n)));
        }

        line.Leave();
        await Task.WhenAll(waits).WaitAsync(Timeout);

        Assert.Equal(Enumerable.Range(0, 50), order);
        Assert.True(line.EnterAsync(CancellationToken.None).IsCompletedSuccessfully, "the line was not freed by the last one");

        async Task InTurn(ValueTask entered, Action work)
        {
            await entered;
            work();
            line.Leave();
        }
    }

    [Fact]
    public async Task A_cancelled_waiter_is_passed_over_and_the_line_goes_on()
    {
        var line = new PublishLine();
        await line.EnterAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var b = line.EnterAsync(CancellationToken.None).AsTask();
        var c = line.EnterAsync(cts.Token).AsTask();
        var d = line.EnterAsync(CancellationToken.None).AsTask();

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => c.WaitAsync(Timeout));
        Assert.False(b.IsCompleted);

        line.Leave(); // to b
        await b.WaitAsync(Timeout);
        Assert.False(d.IsCompleted);
        line.Leave(); // passes over c, to d
        await d.WaitAsync(Timeout);
        line.Leave();

        Assert.Equal(0, line.Queued);
        Assert.True(line.EnterAsync(CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_token_that_fired_before_entering_holds_nothing()
    {
        var line = new PublishLine();
        var cancelled = line.EnterAsync(new CancellationToken(canceled: true));
        Assert.True(cancelled.IsCanceled);
        Assert.True(line.EnterAsync(CancellationToken.None).IsCompletedSuccessfully);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Hand_overs_racing_cancellations_never_let_two_in_nor_lose_the_line()
    {
        // Four tasks go through the line 3,000 times each; a third of the entries carry a token that fires at a random
        // moment, racing the hand-over. One holder at a time, every entry ends, and the line is free at the end.
        var line = new PublishLine();
        int inside = 0;
        int overlaps = 0;
        int entered = 0;
        int cancelled = 0;

        async Task Run(int seed)
        {
            var random = new Random(seed);
            for (int i = 0; i < 3_000; i++)
            {
                using var cts = random.Next(3) == 0 ? new CancellationTokenSource() : null;
                var entering = line.EnterAsync(cts?.Token ?? CancellationToken.None);
                if (cts is not null)
                {
                    if (random.Next(2) == 0)
                    {
                        cts.Cancel();
                    }
                    else
                    {
                        _ = Task.Run(cts.Cancel);
                    }
                }

                try
                {
                    await entering;
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelled);
                    continue;
                }

                if (Interlocked.Increment(ref inside) != 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                Interlocked.Increment(ref entered);
                if (random.Next(4) == 0)
                {
                    await Task.Yield();
                }

                Interlocked.Decrement(ref inside);
                line.Leave();
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(s => Task.Run(() => Run(s)))).WaitAsync(Timeout);

        Assert.Equal(0, overlaps);
        Assert.Equal(12_000, entered + cancelled);
        Assert.True(entered > 6_000, $"only {entered} entries got in");
        Assert.True(line.EnterAsync(CancellationToken.None).IsCompletedSuccessfully, "the line was lost");
    }

    [Fact]
    public async Task Places_in_line_are_reused_so_a_publisher_held_back_each_time_allocates_nothing()
    {
        var line = new PublishLine();
        using var cts = new CancellationTokenSource(); // a token that can fire: its registration must not allocate either
        await line.EnterAsync(CancellationToken.None);
        for (int i = 0; i < 100; i++)
        {
            await WaitBehindAsync();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            await WaitBehindAsync();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1_000, $"{allocated} bytes for 10,000 waits in line");

        // This thread holds the line; it queues behind itself, hands over and is let in (synchronously: granted by Leave).
        // Not an async method: in a Debug build its state machine would be a class allocated per call.
        ValueTask WaitBehindAsync()
        {
            var entering = line.EnterAsync(cts.Token);
            Assert.False(entering.IsCompleted);
            line.Leave();
            Assert.True(entering.IsCompletedSuccessfully);
            entering.GetAwaiter().GetResult();
            return ValueTask.CompletedTask;
        }
    }
}
