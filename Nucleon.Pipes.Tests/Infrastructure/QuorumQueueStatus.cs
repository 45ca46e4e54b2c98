namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>
/// A queue's row in <c>rabbitmqctl list_queues name type leader members online</c>: for a quorum queue
/// the node names of its Raft leader, its members and the members currently online.
/// </summary>
/// <remarks><see cref="Leader"/> is empty while no leader is known (an election in progress, or a classic queue).</remarks>
public sealed record QuorumQueueStatus(string Name, string Type, string Leader, IReadOnlyList<string> Members, IReadOnlyList<string> Online)
{
    public override string ToString() =>
        $"{Name} ({Type}): leader {(Leader.Length == 0 ? "none" : Leader)}, members [{string.Join(", ", Members)}], online [{string.Join(", ", Online)}]";
}
