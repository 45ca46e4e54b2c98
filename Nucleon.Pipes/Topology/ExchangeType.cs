namespace Nucleon.Pipes;

/// <summary>The exchange types RabbitMQ ships.</summary>
public static class ExchangeType
{
    /// <summary>Routes on an exact routing-key match.</summary>
    public const string Direct = "direct";

    /// <summary>Routes to every bound queue.</summary>
    public const string Fanout = "fanout";

    /// <summary>Routes on routing-key patterns with * and #.</summary>
    public const string Topic = "topic";

    /// <summary>Routes on header values.</summary>
    public const string Headers = "headers";
}
