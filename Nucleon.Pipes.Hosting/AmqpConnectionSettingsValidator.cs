using Microsoft.Extensions.Options;

namespace Nucleon.Pipes.Hosting;

/// <summary>Checks every named <see cref="AmqpConnectionSettings"/> when the host starts (ValidateOnStart).</summary>
internal sealed class AmqpConnectionSettingsValidator : IValidateOptions<AmqpConnectionSettings>
{
    public ValidateOptionsResult Validate(string? name, AmqpConnectionSettings options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString) && options.Endpoints is not { Length: > 0 })
        {
            return ValidateOptionsResult.Fail(
                $"AMQP connection '{name}': no URI and no endpoints. Set ConnectionStrings:{name}, or the ConnectionString or Endpoints of its settings section.");
        }

        if (options.StartupTimeout <= TimeSpan.Zero)
        {
            return ValidateOptionsResult.Fail($"AMQP connection '{name}': StartupTimeout must be positive (it is {options.StartupTimeout}).");
        }

        try
        {
            _ = options.BuildOptions();
        }
        catch (Exception ex) when (ex is UriFormatException or ArgumentException or InvalidOperationException)
        {
            // The library's messages never contain the password.
            return ValidateOptionsResult.Fail($"AMQP connection '{name}': {ex.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}
