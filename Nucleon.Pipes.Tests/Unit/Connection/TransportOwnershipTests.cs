using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Nucleon.Pipes.Transport;

namespace Nucleon.Pipes.Tests.Unit.Connection;

/// <summary>
/// The PipeReader of a transport is completed only by its reader (issue 9, bug 13): tearing the transport
/// down from another thread must not hand the buffer the reader still holds back to the pool.
/// </summary>
public sealed class TransportOwnershipTests
{
    [Fact]
    public async Task Disposing_the_transport_from_another_thread_leaves_the_held_buffer_to_the_reader()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ct = cts.Token;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endpoint = new AmqpEndpoint("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port);
        var accept = listener.AcceptSocketAsync(ct);
        var socket = await SocketTransport.ConnectTcpAsync(endpoint, ct);
        using var server = await accept;
        byte[] sent = [.. Enumerable.Range(0, 100).Select(i => (byte)i)];
        await server.SendAsync(sent, SocketFlags.None, ct);
        var transport = await SocketTransport.CreateAsync(socket, endpoint, null, ct);

        var result = await transport.Input.ReadAsync(ct);
        var held = result.Buffer;
        while (held.Length < sent.Length)
        {
            transport.Input.AdvanceTo(held.Start, held.End);
            result = await transport.Input.ReadAsync(ct);
            held = result.Buffer;
        }

        // What Abort does while the reader is in the middle of its frames.
        await Task.Run(() => transport.DisposeAsync().AsTask(), ct);

        Assert.Equal(sent, held.Slice(0, sent.Length).ToArray());
        transport.Input.AdvanceTo(held.End);
        await transport.Input.CompleteAsync();
    }
}
