using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Nucleon.Pipes.Transport;

/// <summary>
/// Wraps a connected stream in TLS. The broker's certificate is checked for chain and host name;
/// with <see cref="AmqpTlsOptions.TrustedAuthorities"/> the chain must end at one of those instead
/// of the system store. Failures become <see cref="AmqpTlsException"/> naming what was wrong: definitive
/// when a certificate was refused (by our validation, or by the broker's alert), transient when the
/// connection merely broke during the handshake.
/// </summary>
internal static class TlsHandshake
{
    public static async Task<SslStream> AuthenticateAsync(Stream inner, AmqpEndpoint endpoint, AmqpTlsOptions tls, CancellationToken cancellationToken)
    {
        string reason = string.Empty;
        var policyErrors = SslPolicyErrors.None;
        bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (tls.CertificateValidation is { } custom)
            {
                return custom(sender, certificate, chain, errors);
            }

            if (tls.TrustedAuthorities is { Count: > 0 } roots && certificate is not null)
            {
                // Re-validate the chain against the given authorities only; keep the name check.
                errors &= ~(SslPolicyErrors.RemoteCertificateChainErrors);
                var ownChain = new X509Chain();
                ownChain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                ownChain.ChainPolicy.CustomTrustStore.AddRange(roots);
                ownChain.ChainPolicy.RevocationMode = tls.CheckCertificateRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck;
                if (chain is not null)
                {
                    ownChain.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
                }

                using var leaf = new X509Certificate2(certificate);
                if (!ownChain.Build(leaf))
                {
                    errors |= SslPolicyErrors.RemoteCertificateChainErrors;
                    reason = Describe(errors, ownChain);
                    policyErrors = errors;
                    ownChain.Dispose();
                    return false;
                }

                ownChain.Dispose();
            }

            policyErrors = errors;
            reason = Describe(errors, chain);
            return errors == SslPolicyErrors.None;
        }

        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = tls.ServerName ?? endpoint.Host,
            ClientCertificates = tls.ClientCertificates,
            EnabledSslProtocols = tls.EnabledProtocols,
            CertificateRevocationCheckMode = tls.CheckCertificateRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = Validate,
        };
        try
        {
            await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
            return ssl;
        }
        catch (AuthenticationException ex)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            // No reason of ours: the broker aborted the handshake (e.g. it refused the client certificate).
            string why = reason.Length > 0 ? reason
                : $"the handshake was aborted ({Innermost(ex).Message}); the broker may have refused the client certificate or the TLS version.";
            throw new AmqpTlsException($"TLS with {endpoint} failed: {why}", policyErrors, ex);
        }
        catch (IOException ex)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            // No alert, no verdict of ours: the connection broke (a node going away looks the same). Retried.
            throw new AmqpTlsException($"TLS with {endpoint} failed: the connection was closed during the TLS handshake ({ex.Message}); retrying.", policyErrors, definitive: false, ex);
        }
    }

    /// <summary>
    /// With TLS 1.3 the broker checks the client certificate after the client has finished its
    /// handshake, so a refusal (an alert) surfaces on the first read. An I/O error caused by TLS (not by
    /// the socket) during the AMQP handshake is reported as such; null for anything else.
    /// </summary>
    public static AmqpTlsException? FromPostHandshakeFailure(AmqpEndpoint endpoint, Exception ex)
    {
        if (ex is not IOException { InnerException: { } inner } || inner is System.Net.Sockets.SocketException || inner is IOException)
        {
            return null;
        }

        return new AmqpTlsException(
            $"TLS with {endpoint} failed: the broker ended TLS right after the handshake ({Innermost(ex).Message}); it may have refused the client certificate.",
            SslPolicyErrors.None, ex);
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is { } inner)
        {
            ex = inner;
        }

        return ex;
    }

    private static string Describe(SslPolicyErrors errors, X509Chain? chain)
    {
        if (errors == SslPolicyErrors.None)
        {
            return string.Empty;
        }

        var parts = new List<string>();
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            parts.Add("the broker sent no certificate");
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            parts.Add("the certificate's name does not match the host name (RemoteCertificateNameMismatch)");
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            var statuses = chain?.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct().ToArray() ?? [];
            string detail = statuses.Length == 0 ? "chain errors" : string.Join(", ", statuses);
            string hint = statuses.Contains(X509ChainStatusFlags.NotTimeValid) ? " — the certificate has expired or is not yet valid"
                : statuses.Contains(X509ChainStatusFlags.UntrustedRoot) || statuses.Contains(X509ChainStatusFlags.PartialChain) ? " — it was issued by an authority that is not trusted"
                : string.Empty;
            parts.Add($"the certificate chain is not valid ({detail}){hint}");
        }

        return string.Join("; ", parts);
    }
}
