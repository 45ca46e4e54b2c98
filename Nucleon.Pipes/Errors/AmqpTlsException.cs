namespace Nucleon.Pipes;

/// <summary>
/// The TLS handshake with the broker failed: its certificate was refused (unknown authority,
/// expired, wrong host name), the broker refused ours, or the connection broke during the handshake.
/// The message names the reason. Only a refused certificate ends the connection; a broken handshake is retried.
/// </summary>
public sealed class AmqpTlsException : AmqpException
{
    /// <summary>Creates the exception.</summary>
    public AmqpTlsException(string message, System.Net.Security.SslPolicyErrors policyErrors, Exception? innerException = null)
        : base(message, innerException) => PolicyErrors = policyErrors;

    internal AmqpTlsException(string message, System.Net.Security.SslPolicyErrors policyErrors, bool definitive, Exception? innerException)
        : this(message, policyErrors, innerException) => IsDefinitive = definitive;

    /// <summary>What was wrong with the broker's certificate (None when the failure was elsewhere).</summary>
    public System.Net.Security.SslPolicyErrors PolicyErrors { get; }

    /// <summary>
    /// True when the handshake was refused on certificate grounds (a validation failure on either side);
    /// false when the connection merely broke during the handshake, which reconnecting may fix.
    /// </summary>
    internal bool IsDefinitive { get; } = true;
}
