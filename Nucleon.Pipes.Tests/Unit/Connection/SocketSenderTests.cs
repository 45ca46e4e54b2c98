using System.Net;
using System.Net.Sockets;
using Nucleon.Pipes.Transport;

namespace Nucleon.Pipes.Tests.Unit.Connection;

/// <summary>
/// The send loop's own send operation (idle connection memory, issue 14): every byte arrives, and once a send is
/// done the sender holds no reference to what it sent (the socket's cached send arguments kept the last 64 KiB
/// pipe segment alive on every idle connection).
/// </summary>
public sealed class SocketSenderTests
{
    [Fact]
    public async Task A_single_buffer_and_a_gathered_list_arrive_whole_and_are_let_go()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (client, server) = await ConnectedPairAsync(cts.Token);
        using var _ = client;
        using var __ = server;
        using var sender = new SocketSender();
        byte[] single = [.. Enumerable.Range(0, 100_000).Select(i => (byte)i)];
        var parts = new List<ArraySegment<byte>> { new byte[] { 1, 2, 3 }, new ArraySegment<byte>(new byte[70_000], 10, 50_000), new byte[] { 4 } };

        var received = ReceiveAsync(server, single.Length + 50_004, cts.Token);
        await sender.SendAsync(client, single);
        AssertForgotten(sender);
        await sender.SendAsync(client, parts);
        AssertForgotten(sender);
        byte[] all = await received;

        Assert.Equal(single, all[..single.Length]);
        Assert.Equal(new byte[] { 1, 2, 3 }, all[single.Length..(single.Length + 3)]);
        Assert.Equal(4, all[^1]);
    }

    [Fact]
    public async Task A_send_on_a_closed_socket_fails_and_still_lets_go()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (client, server) = await ConnectedPairAsync(cts.Token);
        using var _ = server;
        using var sender = new SocketSender();
        client.Dispose();

        await Assert.ThrowsAnyAsync<Exception>(async () => await sender.SendAsync(client, new byte[10]));
        AssertForgotten(sender);
        await Assert.ThrowsAnyAsync<Exception>(async () => await sender.SendAsync(client, new List<ArraySegment<byte>> { new byte[10], new byte[10] }));
        AssertForgotten(sender);
    }

    private static void AssertForgotten(SocketSender sender)
    {
        Assert.Null(sender.Buffer);
        Assert.True(sender.MemoryBuffer.IsEmpty);
        Assert.Null(sender.BufferList);
    }

    private static async Task<byte[]> ReceiveAsync(Socket socket, int length, CancellationToken ct)
    {
        byte[] buffer = new byte[length];
        int read = 0;
        while (read < length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, ct);
            Assert.True(n > 0, "the peer closed early");
            read += n;
        }

        return buffer;
    }

    private static async Task<(Socket Client, Socket Server)> ConnectedPairAsync(CancellationToken ct)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accept = listener.AcceptSocketAsync(ct);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint, ct);
        return (client, await accept);
    }
}
