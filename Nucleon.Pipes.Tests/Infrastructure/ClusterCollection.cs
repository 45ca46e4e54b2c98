namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>
/// Test classes that share the 3-node cluster: <c>[Collection(ClusterCollection.Name)]</c>. They run one at a
/// time, after the cluster formed once for all of them (15–30 s; the three nodes peaked at about 580 MB RSS).
/// </summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
