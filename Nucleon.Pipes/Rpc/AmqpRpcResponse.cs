namespace Nucleon.Pipes;

/// <summary>What an RPC handler answers (see <see cref="RpcServing.ServeRpcAsync"/>): the reply body and its properties.</summary>
/// <param name="Body">The reply body; copied before the reply is sent.</param>
/// <param name="Properties">The reply's properties; the server sets <c>correlation-id</c> to the request's.</param>
public readonly record struct AmqpRpcResponse(ReadOnlyMemory<byte> Body, BasicProperties? Properties = null);
