using System.Text;
using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Connection;

/// <summary>The SASL response of connection.start-ok for the mechanisms this client speaks.</summary>
internal static class SaslResponse
{
    /// <summary>The response bytes for <paramref name="mechanism"/> (upper case); they hold the password: clear them after use.</summary>
    public static byte[] Create(string mechanism, string userName, string password)
    {
        if (mechanism == "EXTERNAL")
        {
            // The identity is the TLS client certificate's; the response is empty.
            return [];
        }

        if (mechanism == "AMQPLAIN")
        {
            // AMQPLAIN: a field table without its leading length.
            var table = new Dictionary<string, object?> { ["LOGIN"] = userName, ["PASSWORD"] = password };
            int size = FieldTableCodec.GetSize(table);
            byte[] encoded = new byte[size];
            var encoder = new AmqpEncoder(encoded);
            encoder.WriteTable(table);
            byte[] response = encoded[4..];
            Array.Clear(encoded);
            return response;
        }

        // PLAIN (RFC 4616): authzid NUL authcid NUL password.
        int user = Encoding.UTF8.GetByteCount(userName);
        byte[] plain = new byte[2 + user + Encoding.UTF8.GetByteCount(password)];
        Encoding.UTF8.GetBytes(userName, plain.AsSpan(1));
        Encoding.UTF8.GetBytes(password, plain.AsSpan(2 + user));
        return plain;
    }
}
