using Microsoft.Extensions.Configuration;

namespace Nucleon.Pipes.Tests.Unit.Configuration;

/// <summary><see cref="AmqpConnectionOptions"/> bound from configuration (appsettings.json, environment variables).</summary>
public sealed class OptionsBindingTests
{
    private static AmqpConnectionOptions Bind(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().Get<AmqpConnectionOptions>()
        ?? throw new InvalidOperationException("nothing bound");

    [Fact]
    public void Configured_endpoints_replace_the_default_instead_of_joining_it()
    {
        var options = Bind(new()
        {
            ["Endpoints:0:Host"] = "node-a",
            ["Endpoints:0:Port"] = "5673",
            ["Endpoints:1:Host"] = "node-b",
            ["Endpoints:1:Port"] = "5674",
        });

        Assert.Equal([new AmqpEndpoint("node-a", 5673), new AmqpEndpoint("node-b", 5674)], options.Endpoints);
        options.Validate();
    }

    [Fact]
    public void Without_configured_endpoints_the_default_is_localhost()
    {
        var options = Bind(new() { ["UserName"] = "app" });
        Assert.Equal([new AmqpEndpoint("localhost", AmqpConnectionOptions.DefaultPort)], options.Endpoints);
        Assert.Equal("app", options.UserName);
        Assert.Equal([new AmqpEndpoint("localhost", AmqpConnectionOptions.DefaultPort)], new AmqpConnectionOptions().Endpoints);
    }
}
