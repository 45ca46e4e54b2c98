using System.Globalization;
using System.Text;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// Parses and formats AMQP URIs:
/// <c>amqp[s]://[user[:password]@]host[:port][,host[:port]...][/vhost][?key=value&amp;...]</c>.
/// User, password and vhost are percent-decoded ("%2f" is "/"); an empty path or "/" means the
/// vhost "/". Query keys: heartbeat (s), frame_max, channel_max, connection_timeout (ms), handshake_timeout (ms),
/// auth_mechanism (plain|amqplain|external), connection_name, server_name_indication (TLS). Several comma-separated hosts name the
/// nodes of a cluster. Error messages never contain the password.
/// </summary>
internal static class AmqpUri
{
    public static AmqpConnectionOptions Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        string trimmed = uri.Trim();
        int schemeEnd = trimmed.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            throw new UriFormatException($"\"{Mask(trimmed)}\" is not an AMQP URI: it must start with amqp:// or amqps://.");
        }

        string scheme = trimmed[..schemeEnd].ToLowerInvariant();
        bool tls = scheme switch
        {
            "amqp" => false,
            "amqps" => true,
            _ => throw new UriFormatException($"Unsupported URI scheme \"{Quote(scheme, trimmed)}\" in \"{Mask(trimmed)}\"; use amqp:// or amqps://."),
        };

        string rest = trimmed[(schemeEnd + 3)..];
        string? query = null;
        int q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        string authority = slash >= 0 ? rest[..slash] : rest;
        string path = slash >= 0 ? rest[(slash + 1)..] : string.Empty;

        var options = new AmqpConnectionOptions { UseTls = tls };
        int at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            string userInfo = authority[..at];
            authority = authority[(at + 1)..];
            int colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            string user = colon >= 0 ? userInfo[..colon] : userInfo;
            string? password = colon >= 0 ? userInfo[(colon + 1)..] : null;
            options = options with
            {
                UserName = Decode(user, "user name", trimmed),
                Password = password is null ? options.Password : Decode(password, "password", trimmed),
            };
        }

        options = options with { Endpoints = ParseHosts(authority, tls, trimmed) };

        if (path.Contains('/', StringComparison.Ordinal))
        {
            throw new UriFormatException($"The path of \"{Mask(trimmed)}\" has more than one segment; encode a '/' in a vhost name as %2f.");
        }

        options = options with { VirtualHost = path.Length == 0 ? "/" : Decode(path, "virtual host", trimmed) };

        if (!string.IsNullOrEmpty(query))
        {
            options = ApplyQuery(options, query, trimmed);
        }

        options.Validate();
        return options;
    }

    public static string Format(AmqpConnectionOptions o, bool maskPassword)
    {
        var sb = new StringBuilder(o.UseTls ? "amqps://" : "amqp://");
        sb.Append(Uri.EscapeDataString(o.UserName)).Append(':')
          .Append(maskPassword ? "***" : Uri.EscapeDataString(o.Password)).Append('@');
        for (int i = 0; i < o.Endpoints.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(o.Endpoints[i].ToString());
        }

        sb.Append('/').Append(Uri.EscapeDataString(o.VirtualHost));
        return sb.ToString();
    }

    /// <summary>Replaces the password part of a URI-like string with ***, for error messages.</summary>
    /// <remarks>
    /// Deliberately conservative: it hides everything from the first ':' after the scheme separator
    /// to the last '@' of the whole string, not just the password of a well-formed authority. A
    /// malformed URI (a raw '/' or '?' in the password, a mistyped "amqp:/") must not leak the
    /// password either; at worst a little more than the password is hidden.
    /// </remarks>
    internal static string Mask(string uri)
    {
        int schemeEnd = uri.IndexOf("://", StringComparison.Ordinal);
        int start = schemeEnd >= 0 ? schemeEnd + 3 : 0;
        int at = uri.LastIndexOf('@');
        if (at < start)
        {
            return uri;
        }

        int colon = uri.IndexOf(':', start, at - start);
        if (colon < 0)
        {
            return uri;
        }

        return string.Concat(uri.AsSpan(0, colon + 1), "***", uri.AsSpan(at));
    }

    /// <summary>
    /// A piece of the URI to quote in an error message, or *** if it is not visible in the masked
    /// URI (then it may be part of the password, split off by a malformed URI). Case-insensitive
    /// because keys are lower-cased before they are reported.
    /// </summary>
    private static string Quote(string fragment, string uri) =>
        Mask(uri).Contains(fragment, StringComparison.OrdinalIgnoreCase) ? fragment : "***";

    private static List<AmqpEndpoint> ParseHosts(string authority, bool tls, string uri)
    {
        int defaultPort = tls ? AmqpConnectionOptions.DefaultTlsPort : AmqpConnectionOptions.DefaultPort;
        var endpoints = new List<AmqpEndpoint>();
        if (authority.Length == 0)
        {
            endpoints.Add(new AmqpEndpoint("localhost", defaultPort));
            return endpoints;
        }

        foreach (string part in authority.Split(','))
        {
            string host;
            string? port = null;
            if (part.StartsWith('['))
            {
                int close = part.IndexOf(']', StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new UriFormatException($"Unclosed '[' in the host \"{Quote(part, uri)}\" of \"{Mask(uri)}\".");
                }

                host = part[1..close];
                string after = part[(close + 1)..];
                if (after.Length > 0)
                {
                    if (after[0] != ':')
                    {
                        throw new UriFormatException($"Unexpected \"{Quote(after, uri)}\" after the IPv6 address in \"{Mask(uri)}\".");
                    }

                    port = after[1..];
                }
            }
            else
            {
                int colon = part.LastIndexOf(':');
                host = colon >= 0 ? part[..colon] : part;
                port = colon >= 0 ? part[(colon + 1)..] : null;
            }

            if (host.Length == 0)
            {
                throw new UriFormatException($"Empty host in \"{Mask(uri)}\".");
            }

            int portNumber = defaultPort;
            if (port is not null && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out portNumber) || portNumber is < 1 or > 65535))
            {
                throw new UriFormatException($"Invalid port \"{Quote(port, uri)}\" in \"{Mask(uri)}\"; a port is a number from 1 to 65535.");
            }

            endpoints.Add(new AmqpEndpoint(Uri.UnescapeDataString(host), portNumber));
        }

        return endpoints;
    }

    private static AmqpConnectionOptions ApplyQuery(AmqpConnectionOptions options, string query, string uri)
    {
        foreach (string pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string key = Uri.UnescapeDataString(eq >= 0 ? pair[..eq] : pair).ToLowerInvariant();
            string value = Uri.UnescapeDataString(eq >= 0 ? pair[(eq + 1)..] : string.Empty);
            options = key switch
            {
                "heartbeat" => options with { Heartbeat = TimeSpan.FromSeconds(Number(key, value, 0, ushort.MaxValue, uri)) },
                "frame_max" => options with { FrameMax = (uint)Number(key, value, 0, uint.MaxValue, uri) },
                "channel_max" => options with { ChannelMax = (ushort)Number(key, value, 0, ushort.MaxValue, uri) },
                "connection_timeout" => options with { ConnectionTimeout = TimeSpan.FromMilliseconds(Number(key, value, 1, int.MaxValue, uri)) },
                "handshake_timeout" => options with { HandshakeTimeout = TimeSpan.FromMilliseconds(Number(key, value, 1, int.MaxValue, uri)) },
                "auth_mechanism" => options with { AuthMechanism = value.ToUpperInvariant() },
                "server_name_indication" => options with { Tls = options.Tls with { ServerName = value } },
                "connection_name" => options with { ClientProvidedName = value },
                _ => throw new ArgumentException($"Unknown query parameter \"{Quote(key, uri)}\" in \"{Mask(uri)}\"; known: heartbeat, frame_max, channel_max, connection_timeout, handshake_timeout, auth_mechanism, connection_name, server_name_indication.", nameof(uri)),
            };
        }

        return options;
    }

    private static long Number(string key, string value, long min, long max, string uri)
    {
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n < min || n > max)
        {
            throw new ArgumentException($"Query parameter {key}={Quote(value, uri)} is invalid: expected a whole number from {min} to {max}.", key);
        }

        return n;
    }

    private static string Decode(string part, string what, string uri)
    {
        // Uri.UnescapeDataString leaves malformed escapes alone; check them ourselves so "%zz" is an error.
        for (int i = part.IndexOf('%', StringComparison.Ordinal); i >= 0; i = part.IndexOf('%', i + 1))
        {
            if (i + 2 >= part.Length || !Uri.IsHexDigit(part[i + 1]) || !Uri.IsHexDigit(part[i + 2]))
            {
                throw new UriFormatException($"Bad percent-encoding in the {what} of \"{Mask(uri)}\".");
            }
        }

        return Uri.UnescapeDataString(part);
    }
}
