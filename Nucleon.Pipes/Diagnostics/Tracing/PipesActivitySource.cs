using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace Nucleon.Pipes.Diagnostics.Tracing;

/// <summary>
/// The <c>Nucleon.Pipes</c> activity source. Every span starts behind <see cref="ActivitySource.HasListeners"/>,
/// so without a listener nothing is created, copied or injected.
/// </summary>
internal static class PipesActivitySource
{
    public const string Name = "Nucleon.Pipes";

    public static readonly ActivitySource Source = new(Name,
        typeof(PipesActivitySource).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    // Span names ("publish orders", "process orders.q") per destination, so a traced message does not build one.
    // Bounded: past the cap (many generated names) each span builds its own.
    private const int MaxCachedNames = 1024;
    private static readonly ConcurrentDictionary<string, string> PublishNames = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string> ProcessNames = new(StringComparer.Ordinal);

    public static string PublishName(string exchange) => Cached(PublishNames, "publish ", exchange);

    public static string ProcessName(string queue) => Cached(ProcessNames, "process ", queue);

    private static string Cached(ConcurrentDictionary<string, string> names, string operation, string destination)
    {
        if (names.TryGetValue(destination, out var name))
        {
            return name;
        }

        name = operation + destination;
        if (names.Count < MaxCachedNames)
        {
            names.TryAdd(destination, name);
        }

        return name;
    }
}
