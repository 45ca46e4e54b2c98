namespace Nucleon.Pipes;

/// <summary>The delivery-mode property.</summary>
public enum DeliveryMode : byte
{
    /// <summary>1: the broker may keep the message in memory only.</summary>
    Transient = 1,

    /// <summary>2: a durable queue writes the message to disk.</summary>
    Persistent = 2,
}
