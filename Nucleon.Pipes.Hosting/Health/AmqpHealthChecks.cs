using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Nucleon.Pipes.Hosting.Connections;

namespace Nucleon.Pipes.Hosting;

/// <summary>
/// Health checks for hosted AMQP connections:
/// <c>services.AddHealthChecks().Add(AmqpHealthChecks.ForConnection())</c>.
/// </summary>
public static class AmqpHealthChecks
{
    /// <summary>
    /// A health check of the connection named <paramref name="connectionName"/>: healthy while connected;
    /// degraded while starting, reconnecting or blocked; <paramref name="failureStatus"/> after a permanent
    /// failure or once closed. Its data holds the state and the last error the connection reported.
    /// </summary>
    public static HealthCheckRegistration ForConnection(string connectionName = AmqpHosting.DefaultConnectionName, string? name = null,
        HealthStatus failureStatus = HealthStatus.Unhealthy, IEnumerable<string>? tags = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionName);
        return new HealthCheckRegistration(
            name ?? $"amqp-{connectionName}",
            sp => new Health.AmqpConnectionHealthCheck(sp.GetRequiredKeyedService<AmqpConnectionHost>(connectionName)),
            failureStatus,
            tags);
    }
}
