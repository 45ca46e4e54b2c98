using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes;

/// <summary>The three ways to settle a delivery.</summary>
internal enum SettleKind
{
    Ack,
    Nack,
    Reject,
}
