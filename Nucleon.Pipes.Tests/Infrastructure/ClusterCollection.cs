namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>
/// Test classes that share the 3-node cluster: <c>[Collection(ClusterCollection.Name)]</c>. They run one at a
/// time, after the cluster formed once for all of them (15–30 s, about 400 MB).
/// </summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
