using System.Text;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Messaging;

namespace Nucleon.Pipes.Tests.Integration.Rpc;

/// <summary>Servers started by an RPC test, stopped (and awaited) when it ends.</summary>
public abstract class RpcTestBase(BrokerFixture broker) : MessagingTestBase(broker), IAsyncLifetime
{
    private readonly List<(Task Run, CancellationTokenSource Stop)> _servers = [];

    /// <summary>Starts <see cref="RpcServing.ServeRpcAsync"/> on <paramref name="conn"/> (default: the test's connection).</summary>
    protected Task ServeAsync(string queue, Func<Message, CancellationToken, ValueTask<AmqpRpcResponse>> handler, RpcServerOptions? options = null, AmqpConnection? conn = null)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = (conn ?? Conn).ServeRpcAsync(queue, handler, options, stop.Token);
        _servers.Add((run, stop));
        return run;
    }

    /// <summary>Serves <paramref name="queue"/> with handlers that answer <paramref name="reply"/> once released.</summary>
    protected HeldServer ServeHeld(string queue, string reply, RpcServerOptions? options = null)
    {
        var held = new HeldServer(reply);
        _ = ServeAsync(queue, held.HandleAsync, options);
        return held;
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        foreach (var (run, stop) in _servers)
        {
            await stop.CancelAsync();
            try
            {
                await run.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (OperationCanceledException)
            {
            }

            stop.Dispose();
        }

        await DisposeAsync();
    }

    protected static AmqpRpcResponse Reply(string text, BasicProperties? properties = null) => new(Encoding.UTF8.GetBytes(text), properties);

    protected static string Text(AmqpRpcReply reply) => Encoding.UTF8.GetString(reply.Body.Span);
}
