namespace Nucleon.Pipes.Hosting;

/// <summary>Names shared by the hosting extensions.</summary>
public static class AmqpHosting
{
    /// <summary>
    /// The name of the connection registered by <c>AddAmqpConnection()</c> without a name. Its URI is
    /// read from <c>ConnectionStrings:amqp</c> unless set otherwise; it is also registered without a key.
    /// </summary>
    public const string DefaultConnectionName = "amqp";
}
