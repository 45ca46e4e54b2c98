using System.Collections.ObjectModel;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// The broker's connection.start server-properties, read-only, and shared by every connection that was sent
/// the same table: a broker (and every node of a cluster on one version) sends the same ~2 KB of product,
/// version, copyright and capabilities to each connection, and an idle connection kept its own decoded copy.
/// The few most recent distinct tables are kept for the life of the process.
/// </summary>
internal static class SharedServerProperties
{
    private const int Kept = 4;
    private static readonly object s_lock = new();
    private static readonly IDictionary<string, object?>[] s_recent = new IDictionary<string, object?>[Kept];
    private static int s_next;

    /// <summary>An empty table (before the first connection, or when the broker sent none).</summary>
    public static IDictionary<string, object?> Empty { get; } = new ReadOnlyDictionary<string, object?>(new Dictionary<string, object?>());

    /// <summary>
    /// A read-only table equal to <paramref name="decoded"/>: a shared one when one is known, else a read-only view
    /// of it (remembered when every value is immutable, so that later connections can share it).
    /// </summary>
    public static IDictionary<string, object?> Share(IDictionary<string, object?>? decoded)
    {
        if (decoded is null || decoded.Count == 0)
        {
            return Empty;
        }

        lock (s_lock)
        {
            foreach (var known in s_recent)
            {
                if (known is not null && TablesEqual(known, decoded))
                {
                    return known;
                }
            }
        }

        if (!IsImmutable(decoded))
        {
            // Byte arrays or field arrays could be changed through one connection and show up in another's: its own copy.
            return ReadOnly(decoded);
        }

        var shared = ReadOnly(decoded);
        lock (s_lock)
        {
            s_recent[s_next] = shared;
            s_next = (s_next + 1) % Kept;
        }

        return shared;
    }

    // Nested tables become read-only too; arrays and byte arrays are left as decoded (only in unshared tables).
    private static ReadOnlyDictionary<string, object?> ReadOnly(IDictionary<string, object?> table)
    {
        var copy = new Dictionary<string, object?>(table.Count, StringComparer.Ordinal);
        foreach (var (key, value) in table)
        {
            copy[key] = value is IDictionary<string, object?> nested ? ReadOnly(nested) : value;
        }

        return new ReadOnlyDictionary<string, object?>(copy);
    }

    private static bool IsImmutable(IDictionary<string, object?> table)
    {
        foreach (var value in table.Values)
        {
            bool immutable = value switch
            {
                null or string or bool or sbyte or byte or short or ushort or int or uint or long or float or double or decimal => true,
                AmqpTimestamp or AmqpDecimal => true,
                IDictionary<string, object?> nested => IsImmutable(nested),
                _ => false,
            };
            if (!immutable)
            {
                return false;
            }
        }

        return true;
    }

    private static bool TablesEqual(IDictionary<string, object?> a, IDictionary<string, object?> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        foreach (var (key, value) in a)
        {
            if (!b.TryGetValue(key, out var other))
            {
                return false;
            }

            bool equal = (value, other) switch
            {
                (IDictionary<string, object?> x, IDictionary<string, object?> y) => TablesEqual(x, y),
                (IDictionary<string, object?>, _) or (_, IDictionary<string, object?>) => false,
                _ => Equals(value, other),
            };
            if (!equal)
            {
                return false;
            }
        }

        return true;
    }
}
