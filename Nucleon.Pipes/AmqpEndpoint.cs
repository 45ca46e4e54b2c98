namespace Nucleon.Pipes;

/// <summary>One broker address: a host name or IP literal and a TCP port.</summary>
/// <param name="Host">Host name, IPv4 literal or IPv6 literal (without brackets).</param>
/// <param name="Port">TCP port (5672 for amqp, 5671 for amqps by default).</param>
public sealed record AmqpEndpoint(string Host, int Port)
{
    /// <inheritdoc/>
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
