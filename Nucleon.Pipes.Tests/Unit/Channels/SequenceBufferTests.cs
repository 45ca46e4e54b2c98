using Nucleon.Pipes.Channels;

namespace Nucleon.Pipes.Tests.Unit.Channels;

/// <summary>The ordered, hole-tolerant ring that holds pending publisher confirms.</summary>
public sealed class SequenceBufferTests
{
    [Fact]
    public void One_old_entry_survives_any_number_of_later_ones_removed_out_of_order()
    {
        var buffer = new SequenceBuffer<string>(4);
        buffer.Append(1, "slow");
        for (ulong s = 2; s < 10_000; s++)
        {
            buffer.Append(s, $"fast{s}");
            Assert.Equal($"fast{s}", buffer.Remove(s));
        }

        Assert.Equal(1, buffer.Count);
        Assert.Equal("slow", buffer.Remove(1));
        Assert.Equal(0, buffer.Count);
    }

    [Fact]
    public void Removes_the_oldest_up_to_a_bound_in_order_and_skips_holes()
    {
        var buffer = new SequenceBuffer<string>(8);
        for (ulong s = 1; s <= 6; s++)
        {
            buffer.Append(s, $"m{s}");
        }

        Assert.Equal("m3", buffer.Remove(3));
        Assert.Null(buffer.Remove(3));
        Assert.Null(buffer.Remove(42));
        var taken = new List<ulong>();
        while (buffer.TryRemoveOldest(5, out ulong seq, out var item))
        {
            Assert.Equal($"m{seq}", item);
            taken.Add(seq);
        }

        Assert.Equal([1ul, 2, 4, 5], taken);
        Assert.Equal(1, buffer.Count);
        Assert.True(buffer.TryRemoveOldest(ulong.MaxValue, out ulong last, out _));
        Assert.Equal(6ul, last);
    }

    [Fact]
    public void A_full_buffer_refuses_more_and_a_smaller_sequence_is_refused()
    {
        var buffer = new SequenceBuffer<string>(2);
        buffer.Append(5, "a");
        buffer.Append(6, "b");
        Assert.Throws<InvalidOperationException>(() => buffer.Append(7, "c"));
        Assert.Equal("a", buffer.Remove(5));
        Assert.Throws<InvalidOperationException>(() => buffer.Append(6, "dup"));
        buffer.Append(7, "c");
        Assert.Equal(2, buffer.Count);
    }

    [Fact]
    public void Random_appends_and_removals_match_a_reference_model()
    {
        var rng = new Random(1234);
        var buffer = new SequenceBuffer<object>(16);
        var model = new SortedDictionary<ulong, object>();
        ulong next = 1;
        for (int step = 0; step < 200_000; step++)
        {
            int op = rng.Next(3);
            if (op == 0 && model.Count < buffer.Capacity)
            {
                var o = new object();
                buffer.Append(next, o);
                model[next++] = o;
            }
            else if (op == 1 && model.Count > 0)
            {
                ulong key = model.Keys.ElementAt(rng.Next(model.Count));
                Assert.Same(model[key], buffer.Remove(key));
                model.Remove(key);
            }
            else if (model.Count > 0)
            {
                ulong bound = model.Keys.First() + (ulong)rng.Next(3);
                while (buffer.TryRemoveOldest(bound, out ulong seq, out var item))
                {
                    Assert.Equal(model.Keys.First(), seq);
                    Assert.Same(model[seq], item);
                    model.Remove(seq);
                }

                Assert.True(model.Count == 0 || model.Keys.First() > bound);
            }

            Assert.Equal(model.Count, buffer.Count);
        }
    }
}
