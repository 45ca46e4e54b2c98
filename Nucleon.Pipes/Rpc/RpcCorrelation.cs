using System.Buffers.Text;
using Nucleon.Pipes.Framing;
using System.Text;

namespace Nucleon.Pipes.Rpc;

/// <summary>
/// The correlation id of an RPC request: <c>{index}.{version}</c>, both lower-case hex. The index finds
/// the call's place in the <see cref="RpcCallTable"/> without a dictionary; the version is unique for the
/// client's lifetime, so a reply for an earlier call that used the same place (late, or sent twice)
/// never matches the call there now.
/// </summary>
internal static class RpcCorrelation
{
    public static string Format(int index, long version) => ReplyStamp.FormatString(index, version);

    /// <summary>As <see cref="TryParse(string?, out int, out long)"/>, from the id's bytes as received (no string is made).</summary>
    public static bool TryParse(ReadOnlySpan<byte> correlationId, out int index, out long version)
    {
        index = 0;
        version = 0;
        int dot = correlationId.IndexOf((byte)'.');
        return dot > 0
            && Utf8Parser.TryParse(correlationId[..dot], out index, out int n, 'x') && n == dot
            && Utf8Parser.TryParse(correlationId[(dot + 1)..], out version, out int m, 'x') && m == correlationId.Length - dot - 1
            && index >= 0
            && version > 0;
    }

    /// <summary>Reads an id made by <see cref="Format"/>; false for anything else (another client's id, garbage).</summary>
    public static bool TryParse(string? correlationId, out int index, out long version)
    {
        if (correlationId is null)
        {
            index = 0;
            version = 0;
            return false;
        }

        // One parser for both forms: the string's UTF-8 (on the stack for any id this client makes).
        int length = Encoding.UTF8.GetByteCount(correlationId);
        Span<byte> utf8 = length <= 64 ? stackalloc byte[64] : new byte[length];
        return TryParse(utf8[..Encoding.UTF8.GetBytes(correlationId, utf8)], out index, out version);
    }
}
