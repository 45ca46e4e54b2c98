namespace Nucleon.Pipes.Hosting.Consumers;

/// <summary>Decides how a failed message is nacked (the rule stated on <see cref="AmqpFailurePolicy"/>).</summary>
internal static class SettlementPolicy
{
    private const string DeliveryCountHeader = "x-delivery-count";

    /// <summary>True to nack with requeue, false to dead-letter.</summary>
    public static bool RequeueOnFailure(AmqpFailurePolicy policy, int maxRedeliveries, bool redelivered, IDictionary<string, object?>? headers) =>
        policy == AmqpFailurePolicy.Requeue && EarlierDeliveries(redelivered, headers) < maxRedeliveries;

    /// <summary>How often the broker delivered the message before: x-delivery-count, else 1 if redelivered.</summary>
    public static long EarlierDeliveries(bool redelivered, IDictionary<string, object?>? headers)
    {
        if (headers is not null && headers.TryGetValue(DeliveryCountHeader, out var value))
        {
            switch (value)
            {
                case long l: return l;
                case int i: return i;
                case short s: return s;
                case byte b: return b;
                case sbyte sb: return sb;
                case ushort us: return us;
                case uint ui: return ui;
            }
        }

        return redelivered ? 1 : 0;
    }
}
