using System.Text;

namespace Nucleon.Pipes;

/// <summary>
/// A user name and password (or token) for one connection attempt, from
/// <see cref="AmqpConnectionOptions.CredentialsProvider"/>. <see cref="ToString"/> never shows the password.
/// </summary>
/// <param name="UserName">The user name (for OAuth 2 with RabbitMQ, often ignored or empty).</param>
/// <param name="Password">The password, or a token.</param>
public sealed record AmqpCredentials(string UserName, string Password)
{
    // Records print every property; this one must not print the password.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("UserName = ").Append(UserName).Append(", Password = ***");
        return true;
    }
}
