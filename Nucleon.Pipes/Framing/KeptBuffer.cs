using System.Numerics;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// A buffer a pooled object keeps across its reuses (a delivery's small body or its property bytes, an RPC call's
/// reply properties): grown to the next power of two (at least 64 bytes) when too small, never shrunk, so the steady
/// state allocates nothing and no pool is shared between the thread that fills it and the one that reads it.
/// </summary>
internal static class KeptBuffer
{
    /// <summary>Returns <paramref name="buffer"/>, first replaced by a larger one if it holds fewer than <paramref name="length"/> bytes.</summary>
    public static byte[] Ensure(ref byte[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer = new byte[Math.Max(64, (int)BitOperations.RoundUpToPowerOf2((uint)length))];
        }

        return buffer;
    }
}
