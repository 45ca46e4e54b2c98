using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Tests.Unit.Connection;

/// <summary>
/// Connections sent the same server-properties share one read-only table (idle connection memory, issue 14):
/// sharing must never let one connection's caller change what another sees.
/// </summary>
public sealed class SharedServerPropertiesTests
{
    private static Dictionary<string, object?> Table(string version) => new()
    {
        ["product"] = "RabbitMQ",
        ["version"] = version,
        ["cluster_name"] = "rabbit@test",
        ["capabilities"] = new Dictionary<string, object?> { ["publisher_confirms"] = true, ["basic.nack"] = true },
        ["limit"] = 42L,
        ["none"] = null,
    };

    [Fact]
    public void Equal_tables_decoded_twice_are_one_shared_instance()
    {
        var first = SharedServerProperties.Share(Table("9.1.0"));
        var second = SharedServerProperties.Share(Table("9.1.0"));

        Assert.Same(first, second);
        Assert.Equal("9.1.0", first["version"]);
        Assert.Equal(true, ((IDictionary<string, object?>)first["capabilities"]!)["basic.nack"]);
    }

    [Fact]
    public void Different_tables_are_not_shared()
    {
        var a = SharedServerProperties.Share(Table("9.2.0"));
        var b = SharedServerProperties.Share(Table("9.2.1"));
        var changedCapability = Table("9.2.0");
        ((Dictionary<string, object?>)changedCapability["capabilities"]!)["basic.nack"] = false;
        var c = SharedServerProperties.Share(changedCapability);
        var otherType = Table("9.2.0");
        otherType["limit"] = 42; // an int, not a long: another wire type
        var d = SharedServerProperties.Share(otherType);

        Assert.NotSame(a, b);
        Assert.NotSame(a, c);
        Assert.NotSame(a, d);
        Assert.Equal("9.2.1", b["version"]);
        Assert.Equal(false, ((IDictionary<string, object?>)c["capabilities"]!)["basic.nack"]);
    }

    [Fact]
    public void A_shared_table_and_its_nested_tables_are_read_only()
    {
        var shared = SharedServerProperties.Share(Table("9.3.0"));
        var capabilities = (IDictionary<string, object?>)shared["capabilities"]!;

        Assert.True(shared.IsReadOnly);
        Assert.True(capabilities.IsReadOnly);
        Assert.Throws<NotSupportedException>(() => shared["product"] = "changed");
        Assert.Throws<NotSupportedException>(() => capabilities.Add("x", true));
        Assert.Equal("RabbitMQ", SharedServerProperties.Share(Table("9.3.0"))["product"]);
    }

    [Fact]
    public void The_decoded_table_is_copied_so_changing_it_later_changes_nothing_shared()
    {
        var decoded = Table("9.4.0");
        var shared = SharedServerProperties.Share(decoded);
        decoded["product"] = "changed";
        ((Dictionary<string, object?>)decoded["capabilities"]!)["basic.nack"] = false;

        Assert.Equal("RabbitMQ", shared["product"]);
        Assert.Equal(true, ((IDictionary<string, object?>)shared["capabilities"]!)["basic.nack"]);
    }

    [Fact]
    public void A_table_with_mutable_values_is_read_only_but_never_shared()
    {
        var withBytes = Table("9.5.0");
        withBytes["blob"] = new byte[] { 1, 2, 3 };
        var withArray = Table("9.5.0");
        withArray["list"] = new List<object?> { "a" };

        var withBytesAgain = Table("9.5.0");
        withBytesAgain["blob"] = new byte[] { 1, 2, 3 };

        var a = SharedServerProperties.Share(withBytes);
        var b = SharedServerProperties.Share(withBytesAgain);
        var c = SharedServerProperties.Share(withArray);

        Assert.NotSame(a, b);
        Assert.True(a.IsReadOnly);
        Assert.True(c.IsReadOnly);
        Assert.NotSame(c, SharedServerProperties.Share(Table("9.5.0")));
    }

    [Fact]
    public void No_table_or_an_empty_one_is_the_empty_table()
    {
        Assert.Same(SharedServerProperties.Empty, SharedServerProperties.Share(null));
        Assert.Same(SharedServerProperties.Empty, SharedServerProperties.Share(new Dictionary<string, object?>()));
        Assert.Empty(SharedServerProperties.Empty);
        Assert.True(SharedServerProperties.Empty.IsReadOnly);
    }

    [Fact]
    public async Task Connections_sharing_concurrently_all_get_an_equal_read_only_table()
    {
        var tables = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => SharedServerProperties.Share(Table("9.6.0")))));

        Assert.All(tables, t => Assert.Equal("9.6.0", t["version"]));
        Assert.All(tables, t => Assert.True(t.IsReadOnly));
        // Racing first callers may each store a copy; from then on one is handed out.
        Assert.Same(SharedServerProperties.Share(Table("9.6.0")), SharedServerProperties.Share(Table("9.6.0")));
    }
}
