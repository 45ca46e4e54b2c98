using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Nucleon.Pipes.Transport;

/// <summary>
/// A TCP connection to one broker exposed as a duplex pipe. The stream in the middle is where TLS
/// slots in: the reader and writer only ever see the pipes.
/// Output goes through an in-memory <see cref="Pipe"/> drained by a send loop: a flush only hands
/// bytes over, and whatever accumulates while one send is in flight leaves in the next one, so a
/// stream of small publishes becomes a few large socket writes (fewer system calls here, fewer
/// packets for the broker to read).
/// </summary>
internal sealed class SocketTransport : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly SocketSender? _sender; // plain TCP only: sends that do not keep the last buffer alive
    // The send loop is woken inline after a quiet spell, else on the thread pool (see IdleInlineScheduler).
    // A modest pause threshold keeps what can queue ahead of a small message (behind a large one) short.
    private readonly Pipe _output = new(new PipeOptions(
        readerScheduler: new IdleInlineScheduler(),
        pauseWriterThreshold: 512 * 1024,
        resumeWriterThreshold: 256 * 1024,
        minimumSegmentSize: 64 * 1024,
        useSynchronizationContext: false));

    // Zero-byte reads: an idle connection waits for data without holding a 64 KiB read buffer
    // (most of an idle connection's memory); the buffer is rented once bytes are there. Shared: immutable.
    private static readonly StreamPipeReaderOptions ReaderOptions = new(
        bufferSize: 64 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true, useZeroByteReads: true);

    private SocketTransport(Socket socket, Stream stream, AmqpEndpoint endpoint)
    {
        _socket = socket;
        _stream = stream;
        _sender = stream is NetworkStream ? new SocketSender() : null;
        Endpoint = endpoint;
        PeerAddress = PeerAddressOf(socket);
        Input = PipeReader.Create(stream, ReaderOptions);
        SendLoop = SendLoopAsync();
    }

    public AmqpEndpoint Endpoint { get; }

    /// <summary>The broker's IP address as connected (for spans' network.peer.address).</summary>
    public string? PeerAddress { get; }

    /// <summary>The bytes from the broker. Only its one reader completes it (see <see cref="DisposeAsync"/>).</summary>
    public PipeReader Input { get; }

    public PipeWriter Output => _output.Writer;

    /// <summary>Whether the send loop is busy, so the writer can leave a flush to it (see <see cref="Transport.SendProgress"/>).</summary>
    public SendProgress SendProgress { get; } = new();

    /// <summary>Completes when the send loop ends (the output was completed or the socket failed).</summary>
    public Task SendLoop { get; }

    private async Task SendLoopAsync()
    {
        await Task.Yield();
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                SendProgress.SendStarted();
                var buffer = result.Buffer;
                if (_sender is null)
                {
                    // TLS: through the stream, segment by segment.
                    foreach (var segment in buffer)
                    {
                        await _stream.WriteAsync(segment).ConfigureAwait(false);
                    }
                }
                else if (TryGather(buffer))
                {
                    // Plain TCP: all segments in one gathered send (a 4 MiB body is 64 segments of the pipe).
                    await _sender.SendAsync(_socket, _gather).ConfigureAwait(false);
                    _gather.Clear();
                }
                else
                {
                    foreach (var segment in buffer)
                    {
                        await _sender.SendAsync(_socket, segment).ConfigureAwait(false);
                    }
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }

                // May run the writer's owed flush inline, so the next read finds its bytes at once.
                SendProgress.SendFinished();
            }

            await reader.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The writer's next flush sees the failure; the reader sees the dead socket.
            await reader.CompleteAsync(ex).ConfigureAwait(false);
            Abort();
        }
    }

    private readonly List<ArraySegment<byte>> _gather = [];

    // Fills _gather with the segments of a multi-segment buffer; false when it should be written segment by
    // segment instead (one segment, or memory that is not array-backed). Cleared after each send, like the sender.
    private bool TryGather(in System.Buffers.ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            return false;
        }

        _gather.Clear();
        foreach (var segment in buffer)
        {
            if (!System.Runtime.InteropServices.MemoryMarshal.TryGetArray(segment, out var array))
            {
                return false;
            }

            _gather.Add(array);
        }

        return true;
    }

    // A peer that already hung up (a broker refusing the client certificate right after the TLS handshake)
    // has no remote end point any more: that is no reason to fail here, the reader reports what happened.
    private static string? PeerAddressOf(Socket socket)
    {
        try
        {
            return (socket.RemoteEndPoint as IPEndPoint)?.Address.ToString();
        }
        catch (SocketException)
        {
            return null;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>Opens the TCP connection (the first stage of connecting; bounded by the caller's token).</summary>
    public static async Task<Socket> ConnectTcpAsync(AmqpEndpoint endpoint, CancellationToken cancellationToken)
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

            return socket;
        }
        catch
        {
            socket?.Dispose();
            throw;
        }
    }

    /// <summary>Wraps a connected socket, after the TLS handshake when <paramref name="tls"/> is given; disposes the socket on failure.</summary>
    public static async Task<SocketTransport> CreateAsync(Socket socket, AmqpEndpoint endpoint, AmqpTlsOptions? tls, CancellationToken cancellationToken)
    {
        try
        {
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (tls is not null)
            {
                // The socket is closed if the token fires, so a silent peer cannot hold the handshake.
                using (cancellationToken.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket))
                {
                    stream = await TlsHandshake.AuthenticateAsync(stream, endpoint, tls, cancellationToken).ConfigureAwait(false);
                }
            }

            return new SocketTransport(socket, stream, endpoint);
        }
        catch
        {
            socket.Dispose();
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

    /// <summary>
    /// Closes the socket and the output. <see cref="Input"/> is left to its reader (the session's reader task,
    /// or the handshake before that task exists), which completes it when it stops: completing it here, on
    /// another thread, would return the buffer the reader may still be parsing to the pool.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Abort();
        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        _output.Reader.CancelPendingRead();
        await SendLoop.ConfigureAwait(false);
        _sender?.Dispose();
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
