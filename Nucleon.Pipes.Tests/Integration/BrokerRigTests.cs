using System.Net.Sockets;
using Nucleon.Pipes.Tests.Infrastructure;
using Nucleon.Pipes.Tests.Integration.Connection;

namespace Nucleon.Pipes.Tests.Integration;

[Collection(BrokerCollection.Name)]
public sealed class BrokerRigTests(BrokerFixture broker)
{
    [Fact]
    public async Task Broker_answers_protocol_header_with_connection_start()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var client = new TcpClient();
        await client.ConnectAsync(broker.Host, broker.Port, cts.Token);
        var stream = client.GetStream();
        await stream.WriteAsync("AMQP\0\0\x09\x01"u8.ToArray(), cts.Token);

        var header = new byte[7];
        await stream.ReadExactlyAsync(header, cts.Token);

        Assert.Equal(1, header[0]); // frame type: method
        Assert.Equal(0, (header[1] << 8) | header[2]); // channel 0
        var size = (header[3] << 24) | (header[4] << 16) | (header[5] << 8) | header[6];
        Assert.InRange(size, 4, 1 << 20);

        var payload = new byte[4];
        await stream.ReadExactlyAsync(payload, cts.Token);
        Assert.Equal(10, (payload[0] << 8) | payload[1]); // class connection
        Assert.Equal(10, (payload[2] << 8) | payload[3]); // method start
    }

    [Fact]
    public async Task Ctl_reaches_the_node()
    {
        if (!broker.CanRunCtl)
        {
            await Assert.ThrowsAsync<NotSupportedException>(() => broker.CtlAsync("status"));
            return;
        }

        var status = await broker.CtlAsync("status");
        Assert.Contains("RabbitMQ", status, StringComparison.OrdinalIgnoreCase);

        var connections = await broker.ListConnectionsAsync();
        Assert.NotNull(connections);

        await broker.SetVmMemoryHighWatermarkAsync(0.4);
    }

    [Fact]
    public async Task Node_can_be_killed_and_started_again()
    {
        if (!broker.CanControlNode)
        {
            await Assert.ThrowsAsync<NotSupportedException>(broker.KillNodeAsync);
            return;
        }

        await broker.KillNodeAsync();
        using (var refused = new TcpClient())
        {
            await Assert.ThrowsAnyAsync<SocketException>(() => refused.ConnectAsync(broker.Host, broker.Port));
        }

        await broker.StartNodeAsync();
        await Broker_answers_protocol_header_with_connection_start();
    }

    [Fact]
    public async Task Open_connection_is_listed_and_can_be_closed_by_the_broker()
    {
        if (!broker.CanRunCtl)
        {
            return;
        }

        // A fully open connection: a half-open one would be closed by the broker's 10 s handshake
        // timeout while a slow rabbitmqctl is still listing it.
        using var cts = new CancellationTokenSource(BrokerFixture.CtlTestTimeout);
        string name = BrokerConnectionInfo.UniqueName("nucleon-rig");
        await using var conn = new AmqpConnection(BrokerConnectionInfo.Uri(broker, $"connection_name={name}"));
        var lost = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.ConnectionLost += (_, e) => lost.TrySetResult(e.Cause);
        await conn.ConnectAsync(cts.Token);

        var info = await BrokerConnectionInfo.FindAsync(broker, name);
        var listed = await info.ToBrokerConnectionAsync(broker);
        Assert.Equal(info.Pid, listed.Pid);
        Assert.Equal("guest", listed.User);

        await broker.CloseConnectionAsync(listed, "rig test");
        var error = await lost.Task.WaitAsync(cts.Token);
        var closed = Assert.IsType<AmqpConnectionException>(error);
        Assert.Equal(AmqpReplyCode.ConnectionForced, closed.ReplyCode);
        Assert.Contains("rig test", closed.ReplyText, StringComparison.Ordinal);
    }
}
