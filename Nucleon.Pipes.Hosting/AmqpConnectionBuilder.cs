using Microsoft.Extensions.DependencyInjection;
using Nucleon.Pipes.Hosting.Connections;

namespace Nucleon.Pipes.Hosting;

/// <summary>Configures one hosted connection; returned by <c>AddAmqpConnection</c>.</summary>
public sealed class AmqpConnectionBuilder
{
    private readonly AmqpConnectionRegistration _registration;

    internal AmqpConnectionBuilder(IServiceCollection services, AmqpConnectionRegistration registration)
    {
        Services = services;
        _registration = registration;
    }

    /// <summary>The connection's name (its DI key, and the key under <c>ConnectionStrings</c>).</summary>
    public string Name => _registration.Name;

    /// <summary>The service collection it is registered in.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Binds <see cref="AmqpConnectionSettings"/> from a configuration section, e.g. <c>"Amqp:Orders"</c>.</summary>
    public AmqpConnectionBuilder BindConfiguration(string sectionPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(sectionPath);
        Services.AddOptions<AmqpConnectionSettings>(Name).BindConfiguration(sectionPath);
        return this;
    }

    /// <summary>Sets <see cref="AmqpConnectionSettings"/> in code (applied after earlier configuration).</summary>
    public AmqpConnectionBuilder Configure(Action<AmqpConnectionSettings> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(Name, configure);
        return this;
    }

    /// <summary>
    /// Adds an on-connect hook (see <see cref="AmqpConnection.OnConnect"/>): it runs, awaited and in
    /// registration order, on the first connection and on every reconnection, before any channel is
    /// handed out from it. Declare topology here; keep it idempotent.
    /// </summary>
    public AmqpConnectionBuilder OnConnect(Func<IServiceProvider, AmqpConnection, CancellationToken, Task> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        _registration.Hooks.Add(hook);
        return this;
    }
}
