using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Nucleon.Pipes;

/// <summary>
/// TLS settings for <c>amqps://</c> connections. By default the broker's certificate must chain to a
/// root the machine trusts and match the host name (also sent as SNI); nothing here weakens that
/// unless set explicitly.
/// </summary>
public sealed record AmqpTlsOptions
{
    /// <summary>The defaults: system trust store, host-name check, TLS 1.2 or 1.3 (a new instance each time, so binding configuration into one changes no other).</summary>
    public static AmqpTlsOptions Default => new();

    /// <summary>The name the certificate must carry and that is sent as SNI. Default: the endpoint's host.</summary>
    public string? ServerName { get; init; }

    /// <summary>
    /// Certificate authorities to trust instead of the system store (e.g. a company CA). When set, the
    /// broker's chain must end at one of these; the host name is still checked.
    /// </summary>
    public X509Certificate2Collection? TrustedAuthorities { get; init; }

    /// <summary>Client certificates offered to the broker (needed for SASL EXTERNAL).</summary>
    public X509CertificateCollection? ClientCertificates { get; init; }

    /// <summary>TLS versions allowed. Default TLS 1.2 and 1.3.</summary>
    public SslProtocols EnabledProtocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Check certificate revocation (needs the CRL/OCSP endpoints to be reachable). Default false.</summary>
    public bool CheckCertificateRevocation { get; init; }

    /// <summary>
    /// Replaces the built-in validation entirely. Return true to accept the broker's certificate.
    /// Use with care: accepting everything removes TLS's protection against impostors.
    /// </summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; init; }
}
