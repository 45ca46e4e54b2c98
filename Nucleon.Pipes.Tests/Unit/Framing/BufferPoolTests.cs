using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Tests.Unit.Framing;

/// <summary>The static buffer pool is bounded and gives a burst back once idle (issue 9, bug 13). Runs alone: the pool is process-wide.</summary>
[Collection(BufferPoolCollection.Name)]
public sealed class BufferPoolTests
{
    private const long MaxRetained = 28L * 1024 * 1024;

    [Fact]
    public void A_burst_is_bounded_and_given_back_after_two_idle_trims()
    {
        // 40,000 commands of ~1 KiB in flight at once, then all returned: the old pool kept up to 8,192 of them for ever.
        var burst = new List<byte[]>();
        for (int i = 0; i < 40_000; i++)
        {
            burst.Add(BufferPool.Rent(1000));
        }

        foreach (var array in burst)
        {
            BufferPool.Return(array);
        }

        burst.Clear();
        Assert.InRange(BufferPool.RetainedBytes, 1024 * 1024, MaxRetained);

        // The first trim notes what is idle, the second drops what stayed idle since.
        BufferPool.Trim();
        BufferPool.Trim();
        Assert.True(BufferPool.RetainedBytes < 256 * 1024, $"{BufferPool.RetainedBytes} bytes still pooled after two idle trims.");
    }

    [Fact]
    public void Buffers_in_use_between_trims_are_kept()
    {
        BufferPool.Trim();
        BufferPool.Trim();
        var held = new List<byte[]>();
        for (int i = 0; i < 100; i++)
        {
            held.Add(BufferPool.Rent(4000));
        }

        held.ForEach(BufferPool.Return);
        BufferPool.Trim();

        // All 100 in use at once during the interval: the next trim must not drop them.
        for (int i = 0; i < 100; i++)
        {
            held[i] = BufferPool.Rent(4000);
        }

        held.ForEach(BufferPool.Return);
        BufferPool.Trim();
        Assert.True(BufferPool.RetainedBytes >= 100 * 4096, $"The pool dropped buffers that were in use ({BufferPool.RetainedBytes} bytes left).");
    }

    [Fact]
    public void Steady_state_rent_and_return_allocate_nothing()
    {
        for (int i = 0; i < 1000; i++)
        {
            BufferPool.Return(BufferPool.Rent(100));
            BufferPool.Return(BufferPool.Rent(10_000));
        }

        // The pool is shared by the whole process: a test running beside this one (or the trim timer) can empty a
        // size class in the middle of a pass, and the next rent here then allocates. Steady state means a pass
        // with no allocation happens; a pool that allocates per rent never has one.
        var passes = new List<long>();
        for (int attempt = 0; attempt < 5 && (passes.Count == 0 || passes[^1] != 0); attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100_000; i++)
            {
                BufferPool.Return(BufferPool.Rent(100));
                BufferPool.Return(BufferPool.Rent(10_000));
            }

            passes.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.True(passes[^1] == 0, $"bytes allocated per pass of 200,000 rents: {string.Join(", ", passes)}");
    }

    [Fact]
    public void Arrays_of_a_foreign_size_are_not_pooled()
    {
        BufferPool.Trim();
        BufferPool.Trim();
        long before = BufferPool.RetainedBytes;
        BufferPool.Return(new byte[1000]);
        Assert.Equal(before, BufferPool.RetainedBytes);
        Assert.Equal(1024, BufferPool.Rent(1000).Length);
        Assert.Equal(16, BufferPool.Rent(1).Length);
    }
}

/// <summary>Tests of process-wide pools: run alone, so that other tests' traffic cannot blur what they measure.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BufferPoolCollection
{
    public const string Name = "Buffer pool";
}
