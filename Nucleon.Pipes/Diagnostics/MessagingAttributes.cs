namespace Nucleon.Pipes.Diagnostics;

/// <summary>
/// Attribute names and values of the OpenTelemetry messaging semantic conventions (and the client's own),
/// shared by the metrics and the spans so both speak the same names.
/// </summary>
internal static class MessagingAttributes
{
    public const string System = "messaging.system";
    public const string SystemValue = "rabbitmq";
    public const string DestinationName = "messaging.destination.name";
    public const string OperationName = "messaging.operation.name";
    public const string OperationType = "messaging.operation.type";
    public const string RoutingKey = "messaging.rabbitmq.destination.routing_key";
    public const string DeliveryTag = "messaging.rabbitmq.message.delivery_tag";
    public const string MessageId = "messaging.message.id";
    public const string ConversationId = "messaging.message.conversation_id";
    public const string BodySize = "messaging.message.body.size";
    public const string ErrorType = "error.type";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";
    public const string PeerAddress = "network.peer.address";
    public const string PeerPort = "network.peer.port";

    /// <summary>The name RabbitMQ gives the default exchange ("" on the wire).</summary>
    public const string DefaultExchange = "amq.default";

    public static string Exchange(string exchange) => exchange.Length == 0 ? DefaultExchange : exchange;

    /// <summary>error.type for a failed operation: the exception's type name (low cardinality, as the convention asks).</summary>
    public static string ErrorTypeOf(Exception error) => error.GetType().FullName ?? error.GetType().Name;
}
