using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Consumers;

/// <summary>
/// <see cref="AmqpConsumer.CancelAsync"/> honours its token: a broker that answers basic.cancel late
/// ends only the caller's wait; the cancel itself completes when cancel-ok arrives and the connection
/// stays healthy. A scripted server plays the slow broker.
/// </summary>
public sealed class ConsumerCancelWaitTests
{
    [Fact]
    public async Task A_cancelled_wait_ends_the_call_and_the_consumer_still_ends_when_cancel_ok_arrives()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        await using var conn = await server.ConnectClientAsync();
        await using var ch = await server.OpenClientChannelAsync(conn);

        var consuming = ch.BasicConsumeAsync("q", new ConsumeOptions { Prefetch = 10 }, ct);
        await server.ReadMethodAsync(1, MethodIds.BasicQos);
        await server.SendMethodAsync(1, new BasicQosOk());
        var consume = MethodFrame.Decode<BasicConsume>(await server.ReadMethodAsync(1, MethodIds.BasicConsume));
        await server.SendMethodAsync(1, new BasicConsumeOk(consume.ConsumerTag));
        var consumer = await consuming.WaitAsync(ct);
        var messages = consumer.Messages.GetAsyncEnumerator(ct);
        var next = messages.MoveNextAsync().AsTask();

        // The server reads basic.cancel and says nothing: the caller's token ends the wait.
        using (var giveUp = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            var cancelling = consumer.CancelAsync(giveUp.Token);
            var cancel = MethodFrame.Decode<BasicCancel>(await server.ReadMethodAsync(1, MethodIds.BasicCancel));
            Assert.Equal(consumer.ConsumerTag, cancel.ConsumerTag);
            Assert.False(cancelling.IsCompleted);
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelling.WaitAsync(ct));
        }

        // The late cancel-ok completes the cancel: the stream ends, and the connection is unharmed.
        await server.SendMethodAsync(1, new BasicCancelOk(consumer.ConsumerTag));
        Assert.False(await next.WaitAsync(ct));
        await messages.DisposeAsync();
        Assert.True(conn.IsConnected);
        Assert.True(ch.IsOpen);

        await server.CloseClientAsync(conn);
    }
}
