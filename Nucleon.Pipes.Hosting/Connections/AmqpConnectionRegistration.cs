namespace Nucleon.Pipes.Hosting.Connections;

/// <summary>What <c>AddAmqpConnection</c> recorded for one named connection: its on-connect hooks, in order.</summary>
internal sealed class AmqpConnectionRegistration(string name)
{
    public string Name { get; } = name;

    public List<Func<IServiceProvider, AmqpConnection, CancellationToken, Task>> Hooks { get; } = [];
}
