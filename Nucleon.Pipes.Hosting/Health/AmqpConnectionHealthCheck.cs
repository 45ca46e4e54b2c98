using Microsoft.Extensions.Diagnostics.HealthChecks;
using Nucleon.Pipes.Hosting.Connections;

namespace Nucleon.Pipes.Hosting.Health;

/// <summary>
/// Healthy while connected; degraded while starting, reconnecting or blocked by the broker; the
/// registration's failure status (unhealthy by default) after a permanent failure or once closed.
/// The data holds the state, generation, endpoint and the last error the connection reported.
/// </summary>
internal sealed class AmqpConnectionHealthCheck(AmqpConnectionHost host) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var state = host.State;
        var data = new Dictionary<string, object>
        {
            ["connection"] = host.Name,
            ["state"] = state.ToString(),
            ["generation"] = host.Connection.Generation,
        };
        if (host.Connection.CurrentEndpoint is { } endpoint)
        {
            data["endpoint"] = endpoint.ToString();
        }

        var error = host.LastError;
        if (error is not null)
        {
            data["lastError"] = $"{error.GetType().Name}: {error.Message}";
        }

        var failureStatus = context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        var result = state switch
        {
            AmqpConnectionState.Connected => HealthCheckResult.Healthy($"AMQP connection '{host.Name}' is connected.", data),
            AmqpConnectionState.Starting => HealthCheckResult.Degraded($"AMQP connection '{host.Name}' is connecting.", error, data),
            AmqpConnectionState.Reconnecting => HealthCheckResult.Degraded($"AMQP connection '{host.Name}' is reconnecting.", error, data),
            AmqpConnectionState.Blocked => HealthCheckResult.Degraded($"AMQP connection '{host.Name}' is blocked by the broker.", error, data),
            AmqpConnectionState.Failed => new HealthCheckResult(failureStatus, $"AMQP connection '{host.Name}' failed for good.", error, data),
            _ => new HealthCheckResult(failureStatus, $"AMQP connection '{host.Name}' is closed.", error, data),
        };
        return Task.FromResult(result);
    }
}
