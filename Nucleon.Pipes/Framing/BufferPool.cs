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

    private static readonly ArrayPool<byte> Small = ArrayPool<byte>.Create(SmallLimit, maxArraysPerBucket: 1024);

    public static byte[] Rent(int size) => size <= SmallLimit ? Small.Rent(size) : ArrayPool<byte>.Shared.Rent(size);

    public static void Return(byte[] buffer)
    {
        // Small-pool arrays are at most SmallLimit long; the shared pool only ever gave us longer ones.
        if (buffer.Length <= SmallLimit)
        {
            Small.Return(buffer);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
