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

    [Fact]
    public void A_list_composed_in_code_from_the_default_keeps_the_default()
    {
        var defaults = new AmqpConnectionOptions();
        var extra = new AmqpEndpoint("node-b", 5672);
        var localhost = new AmqpEndpoint("localhost", AmqpConnectionOptions.DefaultPort);

        // Only the binder's own appending is undone: a list the application builds keeps what it says.
        Assert.Equal([localhost, extra], (defaults with { Endpoints = [.. defaults.Endpoints, extra] }).Endpoints);
        Assert.Equal([localhost, extra], (defaults with { Endpoints = new List<AmqpEndpoint>(defaults.Endpoints) { extra } }).Endpoints);
    }

    [Fact]
    public void Binding_tls_settings_changes_that_options_object_only()
    {
        var bound = Bind(new() { ["UseTls"] = "true", ["Tls:ServerName"] = "broker.internal" });

        Assert.Equal("broker.internal", bound.Tls.ServerName);
        Assert.Null(AmqpTlsOptions.Default.ServerName); // the shared default was bound into before
        Assert.Null(new AmqpConnectionOptions().Tls.ServerName);
    }

    [Fact]
    public void Everything_a_configuration_file_can_say_is_bound()
    {
        var options = Bind(new()
        {
            ["Endpoints:0:Host"] = "node-a",
            ["Endpoints:0:Port"] = "5673",
            ["UserName"] = "app",
            ["Password"] = "secret",
            ["VirtualHost"] = "orders",
            ["Heartbeat"] = "00:00:07",
            ["ClientProvidedName"] = "billing-1",
            ["ClientProperties:service"] = "billing",
            ["AutomaticReconnect"] = "false",
            ["InitialConnectTimeout"] = "00:00:05",
            ["ChannelMax"] = "10",
        });

        Assert.Equal([new AmqpEndpoint("node-a", 5673)], options.Endpoints);
        Assert.Equal(("app", "secret", "orders"), (options.UserName, options.Password, options.VirtualHost));
        Assert.Equal(TimeSpan.FromSeconds(7), options.Heartbeat);
        Assert.Equal("billing-1", options.ClientProvidedName);
        Assert.Equal("billing", Assert.Contains("service", options.ClientProperties!)); // configuration values are strings
        Assert.False(options.AutomaticReconnect);
        Assert.Equal(TimeSpan.FromSeconds(5), options.InitialConnectTimeout);
        Assert.Equal(10, options.ChannelMax);
        options.Validate();
    }
}
