using System.Buffers;
using System.Collections.Concurrent;
using System.Numerics;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// Buffers for encoded commands and received bodies. They are rented on one thread and returned on
/// another (caller → writer, reader → consumer), which defeats <see cref="ArrayPool{T}.Shared"/>'s
/// per-thread caches: under load its small per-core stacks overflow and every publish allocates.
/// This pool keeps, per power-of-two size class from 16 B to <see cref="SmallLimit"/>, a queue deep
/// enough for the steady state to be allocation-free (16 channels, each with 1,000 small publishes
/// queued), but bounded (at most <see cref="MaxArraysPerClass"/> arrays and <see cref="MaxBytesPerClass"/>
/// bytes per class, at most 32 MiB in all) and trimmed: every <see cref="TrimInterval"/> each class drops the arrays that
/// sat unused through the whole interval, so an idle process gives the memory of a burst back.
/// Larger buffers (large messages) use the shared pool, where the copy dwarfs any allocation.
/// </summary>
internal static class BufferPool
{
    public const int SmallLimit = 16 * 1024;

    public const int MaxArraysPerClass = 16384;

    public const int MaxBytesPerClass = 4 * 1024 * 1024;

    public static readonly TimeSpan TrimInterval = TimeSpan.FromSeconds(10);

    private const int MinSize = 16;
    private const int MinShift = 4;
    private static readonly SizeClass[] Classes = CreateClasses();
    // Held in a static field: a timer nobody references is collected and stops firing.
    private static readonly Timer Trimmer = new(static _ => Trim(), null, TrimInterval, TrimInterval);

    /// <summary>Bytes currently held by the pool (not rented out).</summary>
    public static long RetainedBytes
    {
        get
        {
            GC.KeepAlive(Trimmer); // (the field is otherwise never read)
            long total = 0;
            foreach (var c in Classes)
            {
                total += (long)c.Count * c.Size;
            }

            return total;
        }
    }

    /// <summary>An array of at least <paramref name="size"/> bytes (its length is a power of two up to <see cref="SmallLimit"/>).</summary>
    public static byte[] Rent(int size) =>
        size <= SmallLimit ? Classes[ClassOf(size)].Rent() : ArrayPool<byte>.Shared.Rent(size);

    public static void Return(byte[] buffer)
    {
        int length = buffer.Length;
        if (length > SmallLimit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        else if (length >= MinSize && BitOperations.IsPow2(length))
        {
            Classes[ClassOf(length)].Return(buffer);
        }

        // Anything else was not ours: the GC takes it.
    }

    /// <summary>Drops, in every size class, the arrays that were not needed since the previous trim.</summary>
    public static void Trim()
    {
        foreach (var c in Classes)
        {
            c.Trim();
        }
    }

    private static int ClassOf(int size) => BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)Math.Max(size, MinSize))) - MinShift;

    private static SizeClass[] CreateClasses()
    {
        var classes = new SizeClass[BitOperations.Log2(SmallLimit) - MinShift + 1];
        for (int i = 0; i < classes.Length; i++)
        {
            int size = MinSize << i;
            classes[i] = new SizeClass(size, Math.Min(MaxArraysPerClass, MaxBytesPerClass / size));
        }

        return classes;
    }

    /// <summary>One size class: a bounded queue of arrays and the fewest it held since the last trim.</summary>
    private sealed class SizeClass(int size, int capacity)
    {
        // A queue, not a stack: ConcurrentQueue reuses its ring segments, ConcurrentStack allocates a node per push.
        private readonly ConcurrentQueue<byte[]> _arrays = new();
        private int _count;
        private int _lowWater;

        public int Size => size;

        public int Count => Volatile.Read(ref _count);

        public byte[] Rent()
        {
            if (_arrays.TryDequeue(out var array))
            {
                int left = Interlocked.Decrement(ref _count);
                if (left < Volatile.Read(ref _lowWater))
                {
                    // Racy on purpose: an approximate low-water mark only makes a trim keep a few more.
                    Volatile.Write(ref _lowWater, left);
                }

                return array;
            }

            return new byte[size];
        }

        public void Return(byte[] array)
        {
            if (Interlocked.Increment(ref _count) > capacity)
            {
                Interlocked.Decrement(ref _count);
                return;
            }

            _arrays.Enqueue(array);
        }

        public void Trim()
        {
            // Arrays below the low-water mark sat in the queue for the whole interval: nobody needed them.
            for (int unused = Volatile.Read(ref _lowWater); unused > 0 && _arrays.TryDequeue(out _); unused--)
            {
                Interlocked.Decrement(ref _count);
            }

            Volatile.Write(ref _lowWater, Count);
        }
    }
}
