using System.Text;

namespace Nucleon.Pipes.Rpc;

/// <summary>
/// The reply-to names an RPC server has answered lately, as strings made once per name. A server answers a few
/// clients over and over (a direct reply-to name stands for one client channel), so the routing key of a reply is
/// looked up by the bytes the request carried instead of being decoded per request. Shared by the server's workers
/// without a lock: a race at worst makes a string twice.
/// </summary>
internal sealed class ReplyToNames
{
    private const int Capacity = 8;
    private readonly Entry?[] _entries = new Entry?[Capacity];
    private int _next; // where the next new name goes, round robin

    /// <summary>The name <paramref name="utf8"/> spells.</summary>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            var entry = Volatile.Read(ref _entries[i]);
            if (entry is not null && utf8.SequenceEqual(entry.Bytes))
            {
                return entry.Name;
            }
        }

        var added = new Entry(utf8.ToArray(), Encoding.UTF8.GetString(utf8));
        Volatile.Write(ref _entries[(int)((uint)Interlocked.Increment(ref _next) % Capacity)], added);
        return added.Name;
    }

    private sealed record Entry(byte[] Bytes, string Name);
}
