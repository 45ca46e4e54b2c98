using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Faults;

/// <summary>
/// A private RabbitMQ node for the fault tests alone (its own port and data dir, started through
/// <see cref="BrokerFixture"/>'s private-node path), so they can SIGKILL it, restart it, close every
/// connection and raise alarms without disturbing the shared <c>broker</c> collection.
/// </summary>
public sealed class FaultBrokerFixture() : BrokerFixture(privateNodeOnly: true);

/// <summary>Fault test classes: <c>[Collection(FaultCollection.Name)]</c>. They run one at a time on their own node.</summary>
[CollectionDefinition(Name)]
public sealed class FaultCollection : ICollectionFixture<FaultBrokerFixture>
{
    public const string Name = "faults";
}
