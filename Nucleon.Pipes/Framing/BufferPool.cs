using System.Buffers;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// Buffers for encoded commands and received bodies. They are rented on one thread and returned on
/// another (caller → writer, reader → consumer), which defeats <see cref="ArrayPool{T}.Shared"/>'s
/// per-thread caches: under load its small per-core stacks overflow and every publish allocates.
/// A dedicated pool with deep buckets keeps the steady state allocation-free. Buffers above
/// <see cref="SmallLimit"/> (large messages) use the shared pool, where the copy dwarfs any allocation.
/// </summary>
internal static class BufferPool
{
    public const int SmallLimit = 16 * 1024;

    /// <summary>Commands up to this size (a small publish is ~100 bytes) come from a deeper pool.</summary>
    public const int TinyLimit = 1024;

    // Deep enough for 16 channels × 256 queued commands each (publish-parallel used to run the
    // 1,024-deep buckets dry and allocate ~170 B per message); at most 8,192 × 2 KiB stays pooled.
    private static readonly ArrayPool<byte> Tiny = ArrayPool<byte>.Create(TinyLimit, maxArraysPerBucket: 8192);

    private static readonly ArrayPool<byte> Small = ArrayPool<byte>.Create(SmallLimit, maxArraysPerBucket: 1024);

    public static byte[] Rent(int size) => size <= TinyLimit ? Tiny.Rent(size) : size <= SmallLimit ? Small.Rent(size) : ArrayPool<byte>.Shared.Rent(size);

    public static void Return(byte[] buffer)
    {
        // Each pool only ever hands out arrays within its own size range.
        if (buffer.Length <= TinyLimit)
        {
            Tiny.Return(buffer);
        }
        else if (buffer.Length <= SmallLimit)
        {
            Small.Return(buffer);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
