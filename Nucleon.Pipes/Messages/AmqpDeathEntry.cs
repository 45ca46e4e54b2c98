namespace Nucleon.Pipes;

/// <summary>
/// One entry of the <c>x-death</c> header RabbitMQ adds when it dead-letters a message: why, from
/// which queue, how often. The newest entry comes first. See <see cref="Message.Deaths"/>.
/// </summary>
/// <param name="Queue">The queue the message was dead-lettered from.</param>
/// <param name="Reason">Why: <c>rejected</c>, <c>expired</c>, <c>maxlen</c> or <c>delivery_limit</c>.</param>
/// <param name="Count">How many times it was dead-lettered from this queue for this reason.</param>
/// <param name="Exchange">The exchange the message had been published to before.</param>
/// <param name="RoutingKeys">Its routing keys then (with CC and BCC).</param>
/// <param name="Time">When it was first dead-lettered from this queue for this reason, if the broker said.</param>
/// <param name="OriginalExpiration">Its per-message TTL (the expiration property) when it had one.</param>
public sealed record AmqpDeathEntry(
    string Queue,
    string Reason,
    long Count,
    string Exchange,
    IReadOnlyList<string> RoutingKeys,
    AmqpTimestamp? Time,
    string? OriginalExpiration)
{
    /// <summary>Reads the entries of an <c>x-death</c> header; entries or fields of an unexpected type are skipped, never thrown.</summary>
    internal static IReadOnlyList<AmqpDeathEntry> Parse(object? header)
    {
        if (header is not IList<object?> entries || entries.Count == 0)
        {
            return [];
        }

        var result = new List<AmqpDeathEntry>(entries.Count);
        foreach (var entry in entries)
        {
            if (entry is IDictionary<string, object?> table)
            {
                result.Add(new AmqpDeathEntry(
                    Text(table, "queue") ?? string.Empty,
                    Text(table, "reason") ?? string.Empty,
                    table.TryGetValue("count", out var count) ? Integer(count) ?? 0 : 0,
                    Text(table, "exchange") ?? string.Empty,
                    table.TryGetValue("routing-keys", out var keys) && keys is IList<object?> list
                        ? [.. list.Select(k => k as string ?? string.Empty)]
                        : [],
                    table.TryGetValue("time", out var time) && time is AmqpTimestamp ts ? ts : null,
                    Text(table, "original-expiration")));
            }
        }

        return result;
    }

    /// <summary>An integer header value of any width, or null.</summary>
    internal static long? Integer(object? value) => value switch
    {
        long l => l,
        int i => i,
        short s => s,
        sbyte sb => sb,
        byte b => b,
        ushort us => us,
        uint ui => ui,
        _ => null,
    };

    private static string? Text(IDictionary<string, object?> table, string key) =>
        table.TryGetValue(key, out var value) ? value as string : null;
}
