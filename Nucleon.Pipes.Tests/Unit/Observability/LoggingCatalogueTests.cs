using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Nucleon.Pipes.Diagnostics.Logging;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Observability;

/// <summary>The log events as the README documents them: ids, names, levels, categories and fields stay in step with the code.</summary>
public sealed partial class LoggingCatalogueTests
{
    // Each class of events, its id range and its category (protocol errors end a connection: its category).
    private static readonly (Type Events, int First, string Category)[] Classes =
    [
        (typeof(ConnectionLog), 1000, "Connection"),
        (typeof(ChannelLog), 2000, "Channel"),
        (typeof(ConsumerLog), 3000, "Consumer"),
        (typeof(ProtocolLog), 4000, "Connection"),
        (typeof(PublisherLog), 5000, "Publisher"),
    ];

    [Fact]
    public void Every_event_has_its_own_id_in_the_range_of_its_concern()
    {
        var all = Events().ToList();
        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());
        Assert.All(all, e => Assert.InRange(e.Id, e.First, e.First + 999));
    }

    [Fact]
    public void The_README_lists_every_event_with_its_id_name_level_category_and_fields()
    {
        string readme = File.ReadAllText(Path.Combine(BrokerFixture.FindRepositoryRoot(), "README.md"));
        var rows = Row().Matches(readme).ToDictionary(m => int.Parse(m.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture));
        var events = Events().ToList();
        Assert.Equal(events.Select(e => e.Id).Order(), rows.Keys.Order());
        foreach (var e in events)
        {
            var row = rows[e.Id];
            Assert.Equal(e.Name, row.Groups["name"].Value);
            Assert.Equal(e.Level.ToString(), row.Groups["level"].Value);
            Assert.Equal(e.Category, row.Groups["category"].Value);
            var documented = Field().Matches(row.Groups["fields"].Value).Select(m => m.Groups[1].Value).Order();
            var placeholders = Placeholder().Matches(e.Message).Select(m => m.Groups[1].Value).Order();
            Assert.True(documented.SequenceEqual(placeholders), $"{e.Id} {e.Name}: README fields [{string.Join(", ", documented)}], code [{string.Join(", ", placeholders)}]");
        }
    }

    [Fact]
    public void The_tests_event_ids_are_the_libraries()
    {
        var constants = typeof(LogEvents).GetFields(BindingFlags.Public | BindingFlags.Static).ToDictionary(f => f.Name, f => (int)f.GetValue(null)!);
        var events = Events().ToList();
        Assert.Equal(events.Count, constants.Count);
        Assert.All(events, e => Assert.Equal(e.Id, constants[e.Name]));
    }

    private static IEnumerable<(int Id, string Name, LogLevel Level, string Message, int First, string Category)> Events() =>
        from c in Classes
        from m in c.Events.GetMethods(BindingFlags.Public | BindingFlags.Static)
        let a = m.GetCustomAttribute<LoggerMessageAttribute>()
        where a is not null
        select (a.EventId, m.Name, a.Level, a.Message, c.First, c.Category);

    [GeneratedRegex(@"^\| (?<id>\d{4}) \| (?<name>\w+) \| (?<level>\w+) \| (?<category>\w+) \| (?<fields>[^|]*) \|", RegexOptions.Multiline)]
    private static partial Regex Row();

    [GeneratedRegex(@"`(\w+)`")]
    private static partial Regex Field();

    [GeneratedRegex(@"\{(\w+)\}")]
    private static partial Regex Placeholder();
}
