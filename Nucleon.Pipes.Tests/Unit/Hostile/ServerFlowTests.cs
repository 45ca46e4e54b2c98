using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Hostile;

/// <summary>
/// A broker's channel.flow(active=false) pauses that channel's publishing until flow(true). RabbitMQ
/// never sends it (it blocks connections instead), so a scripted server plays the broker.
/// </summary>
public sealed class ServerFlowTests
{
    [Fact]
    public async Task Publishing_waits_while_the_server_has_paused_the_channel_and_resumes_with_flow_true()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = cts.Token;
        await using var server = new ScriptedAmqpServer(ct);
        await using var conn = await server.ConnectClientAsync();
        await using var ch = await server.OpenClientChannelAsync(conn);

        await server.SendMethodAsync(1, new ChannelFlow(false));
        var flowOk = MethodFrame.Decode<ChannelFlowOk>(await server.ReadMethodAsync(1, MethodIds.ChannelFlowOk));
        Assert.False(flowOk.Active);

        var paused = ch.PublishAsync("", "q", new byte[] { 1 }, cancellationToken: ct).AsTask();
        using (var giveUp = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            giveUp.CancelAfter(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                ch.PublishAsync("", "q", new byte[] { 2 }, cancellationToken: giveUp.Token).AsTask());
        }

        Assert.False(paused.IsCompleted);
        await server.SendMethodAsync(1, new ChannelFlow(true));
        Assert.True(MethodFrame.Decode<ChannelFlowOk>(await server.ReadMethodAsync(1, MethodIds.ChannelFlowOk)).Active);
        await paused.WaitAsync(ct);
        // The paused publish is the first thing written after flow-ok; the cancelled one never is.
        var (channel, id, _) = await server.ReadAnyMethodAsync();
        Assert.Equal((ushort)1, channel);
        Assert.Equal(MethodIds.BasicPublish, id);

        await server.CloseClientAsync(conn);
    }
}
