using System.Buffers.Text;
using Nucleon.Pipes.Framing;
using System.Globalization;

namespace Nucleon.Pipes.Rpc;

/// <summary>
/// The correlation id of an RPC request: <c>{index}.{version}</c>, both lower-case hex. The index finds
/// the call's place in the <see cref="RpcCallTable"/> without a dictionary; the version is unique for the
/// client's lifetime, so a reply for an earlier call that used the same place (late, or sent twice)
/// never matches the call there now.
/// </summary>
internal static class RpcCorrelation
{
    public static string Format(int index, long version) => new ReplyStamp(RpcLink.DirectReplyTo, index, version).CorrelationId;

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
        index = 0;
        version = 0;
        if (correlationId is null)
        {
            return false;
        }

        ReadOnlySpan<char> id = correlationId;
        int dot = id.IndexOf('.');
        return dot > 0
            && int.TryParse(id[..dot], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out index)
            && long.TryParse(id[(dot + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out version)
            && index >= 0
            && version > 0;
    }
}
