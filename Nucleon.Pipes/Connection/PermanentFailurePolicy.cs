namespace Nucleon.Pipes.Connection;

/// <summary>
/// Decides when the supervisor stops trying to connect. Only a definitive answer counts: the broker's
/// explicit 403 ACCESS_REFUSED during the handshake (or no SASL mechanism in common), and a TLS
/// handshake refused on certificate grounds (the client's validation rejected the broker's certificate,
/// or the broker sent a TLS alert). Everything else — I/O errors, timeouts, EOF, other reply codes such
/// as 530 or 320 — is transient. Even a definitive answer ends the connection only after every endpoint
/// has been tried once since it came: one misconfigured node must not stop a cluster client.
/// A connection that was established and then lost is never permanent; its reconnect attempts are judged
/// by the same rules.
/// </summary>
internal sealed class PermanentFailurePolicy(int endpoints)
{
    private Exception? _definitive;
    private int _failedSince;

    /// <summary>True for failures that retrying the same endpoint cannot fix.</summary>
    public static bool IsDefinitive(Exception ex) => ex switch
    {
        AmqpAuthenticationException => true,
        AmqpTlsException tls => tls.IsDefinitive,
        _ => false,
    };

    /// <summary>Records a failed attempt; returns the definitive failure to give up with, or null to keep trying.</summary>
    public Exception? GiveUp(Exception failure)
    {
        if (_definitive is null && IsDefinitive(failure))
        {
            _definitive = failure;
        }

        if (_definitive is null)
        {
            return null;
        }

        // Counting the definitive attempt itself: give up once the other endpoints have had their turn.
        return ++_failedSince >= endpoints ? _definitive : null;
    }

    /// <summary>A connection was established: earlier answers no longer count.</summary>
    public void Reset()
    {
        _definitive = null;
        _failedSince = 0;
    }
}
