namespace Nucleon.Pipes.Tests.Integration.Rpc;

/// <summary>An RPC handler that answers only once the test releases it, and tells when requests arrive.</summary>
public sealed class HeldServer(string reply)
{
    private int _arrived;

    /// <summary>Completes when the first request reached the handler.</summary>
    public TaskCompletionSource FirstArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Complete it to let every held handler answer.</summary>
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Requests that reached the handler so far.</summary>
    public int Arrived => Volatile.Read(ref _arrived);

    public async ValueTask<AmqpRpcResponse> HandleAsync(Message request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _arrived);
        FirstArrived.TrySetResult();
        await Release.Task.WaitAsync(cancellationToken);
        return new AmqpRpcResponse(System.Text.Encoding.UTF8.GetBytes(reply));
    }
}
