using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Nucleon.Pipes.Transport;

/// <summary>
/// A TCP connection to one broker exposed as a duplex pipe. The stream in the middle is where TLS
/// will slot in: the reader and writer only ever see the pipes.
/// </summary>
internal sealed class SocketTransport : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;

    private SocketTransport(Socket socket, Stream stream, AmqpEndpoint endpoint)
    {
        _socket = socket;
        _stream = stream;
        Endpoint = endpoint;
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true));
        Output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024, leaveOpen: true));
    }

    public AmqpEndpoint Endpoint { get; }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public static async Task<SocketTransport> ConnectAsync(AmqpEndpoint endpoint, CancellationToken cancellationToken)
    {
        Socket? socket = null;
        try
        {
            if (IPAddress.TryParse(endpoint.Host, out var address))
            {
                socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                socket.NoDelay = true;
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(endpoint.Host, endpoint.Port, cancellationToken).ConfigureAwait(false);
            }

            return new SocketTransport(socket, new NetworkStream(socket, ownsSocket: false), endpoint);
        }
        catch
        {
            socket?.Dispose();
            throw;
        }
    }

    /// <summary>Closes the socket at once; pending reads and writes end with an error.</summary>
    public void Abort()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        Abort();
        await Input.CompleteAsync().ConfigureAwait(false);
        await Output.CompleteAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
