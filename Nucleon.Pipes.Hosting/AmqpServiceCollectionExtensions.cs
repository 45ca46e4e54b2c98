using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nucleon.Pipes;
using Nucleon.Pipes.Hosting;
using Nucleon.Pipes.Hosting.Connections;
using Nucleon.Pipes.Hosting.Consumers;
using Nucleon.Pipes.Hosting.Publishing;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Nucleon.Pipes connections, hosted consumers and publishers with the Generic Host.</summary>
public static class AmqpServiceCollectionExtensions
{
    private const string LoggerCategory = "Nucleon.Pipes.Hosting";

    /// <summary>
    /// Registers a connection that starts and stops with the host: <see cref="AmqpConnection"/> and
    /// <see cref="IAmqpPublisher"/> keyed by <paramref name="name"/> (the default connection also without a
    /// key). Its URI comes from <c>ConnectionStrings:&lt;name&gt;</c> unless the settings set one
    /// (<see cref="AmqpConnectionBuilder.BindConfiguration"/>, <see cref="AmqpConnectionBuilder.Configure"/>);
    /// the settings are validated when the host starts. Calling it again with the same name returns a
    /// builder for the same connection.
    /// </summary>
    public static AmqpConnectionBuilder AddAmqpConnection(this IServiceCollection services, string name = AmqpHosting.DefaultConnectionName,
        Action<AmqpConnectionSettings>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var registration = FindRegistration(services, name);
        if (registration is null)
        {
            registration = new AmqpConnectionRegistration(name);
            Register(services, registration);
        }

        var builder = new AmqpConnectionBuilder(services, registration);
        return configure is null ? builder : builder.Configure(configure);
    }

    /// <summary>
    /// Registers a hosted consumer of <paramref name="queue"/>: each message is handled by a
    /// <typeparamref name="THandler"/> resolved from a new DI scope (registered as scoped unless it already
    /// is), at most <see cref="AmqpConsumerOptions.Concurrency"/> at once; acked on success, nacked on an
    /// exception as <see cref="AmqpConsumerOptions.FailurePolicy"/> says. It consumes across reconnects,
    /// and on host stop takes no new messages, lets handlers in flight finish within the shutdown
    /// timeout, settles them and hands prefetched messages back to the queue.
    /// </summary>
    public static IServiceCollection AddAmqpConsumer<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(
        this IServiceCollection services, string queue, Action<AmqpConsumerOptions>? configure = null)
        where THandler : class, IAmqpMessageHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new AmqpConsumerOptions();
        configure?.Invoke(options);
        options.Validate(queue);
        services.TryAddScoped<THandler>();
        services.AddSingleton<IHostedService>(sp =>
        {
            var host = sp.GetKeyedService<AmqpConnectionHost>(options.ConnectionName)
                ?? throw new InvalidOperationException(
                    $"AddAmqpConsumer<{typeof(THandler).Name}>(\"{queue}\"): no AMQP connection named '{options.ConnectionName}'; call services.AddAmqpConnection(\"{options.ConnectionName}\").");
            return new AmqpConsumerService<THandler>(queue, options, host, sp.GetRequiredService<IServiceScopeFactory>(), Logger(sp));
        });
        return services;
    }

    private static AmqpConnectionRegistration? FindRegistration(IServiceCollection services, string name)
    {
        foreach (var d in services)
        {
            if (d.ServiceType == typeof(AmqpConnectionRegistration) && d.IsKeyedService && Equals(d.ServiceKey, name))
            {
                return (AmqpConnectionRegistration?)d.KeyedImplementationInstance;
            }
        }

        return null;
    }

    private static void Register(IServiceCollection services, AmqpConnectionRegistration registration)
    {
        var name = registration.Name;
        services.AddKeyedSingleton(name, registration);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AmqpConnectionSettings>, AmqpConnectionSettingsValidator>());
        services.AddOptions<AmqpConnectionSettings>(name)
            .PostConfigure<IServiceProvider>((settings, sp) =>
                settings.ConnectionString ??= sp.GetService<IConfiguration>()?.GetConnectionString(name))
            .ValidateOnStart();

        services.AddKeyedSingleton(name, (sp, _) =>
            new AmqpConnectionHost(registration, sp.GetRequiredService<IOptionsMonitor<AmqpConnectionSettings>>().Get(name), sp, Logger(sp)));
        services.AddKeyedSingleton(name, (sp, key) => sp.GetRequiredKeyedService<AmqpConnectionHost>(key).Connection);
        services.AddKeyedSingleton<IAmqpPublisher>(name, (sp, key) => new AmqpPublisher(sp.GetRequiredKeyedService<AmqpConnectionHost>(key)));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredKeyedService<AmqpConnectionHost>(name));
        if (name == AmqpHosting.DefaultConnectionName)
        {
            services.AddSingleton(sp => sp.GetRequiredKeyedService<AmqpConnection>(name));
            services.AddSingleton(sp => sp.GetRequiredKeyedService<IAmqpPublisher>(name));
        }
    }

    private static ILogger Logger(IServiceProvider sp) =>
        sp.GetService<ILoggerFactory>()?.CreateLogger(LoggerCategory) ?? NullLogger.Instance;
}
