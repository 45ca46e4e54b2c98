using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Benchmarks.Ceiling;

/// <summary>
/// The ceiling client's connection: one blocking socket, the real AMQP handshake (PLAIN, no heartbeats), and a
/// 1 MiB receive buffer whose frames are parsed in place. Set-up methods are encoded with the library's codecs
/// when they are sent; the timed loops in <see cref="CeilingWorkloads"/> send only bytes encoded beforehand.
/// </summary>
internal sealed class CeilingConnection : IDisposable
{
    /// <summary>The size of the receive buffer and of the send buffers the workloads build.</summary>
    public const int BufferSize = 1 << 20;

    private const uint MaxFrame = 131_072;

    private readonly Socket _socket;
    private readonly byte[] _in = new byte[BufferSize];
    private readonly byte[] _scratch = new byte[4096];
    private int _start; // unparsed bytes are _in[_start.._end)
    private int _end;

    private CeilingConnection(Socket socket) => _socket = socket;

    /// <summary>The frame_max agreed in the handshake.</summary>
    public uint FrameMax { get; private set; } = MaxFrame;

    /// <summary>Connects, does the handshake and opens channel 1.</summary>
    public static CeilingConnection Open(string uri)
    {
        var options = AmqpConnectionOptions.Parse(uri);
        var endpoint = options.Endpoints[0];
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendBufferSize = BufferSize, ReceiveBufferSize = BufferSize };
        var connection = new CeilingConnection(socket);
        try
        {
            socket.Connect(endpoint.Host, endpoint.Port);
            connection.Handshake(options.UserName, options.Password, options.VirtualHost);
            connection.Call(1, new ChannelOpen(), MethodIds.ChannelOpenOk);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Handshake(string user, string password, string virtualHost)
    {
        Send(AmqpConstants.ProtocolHeader);
        ExpectMethod(0, MethodIds.ConnectionStart);
        // PLAIN (RFC 4616): authzid NUL authcid NUL password.
        byte[] response = Encoding.UTF8.GetBytes($"\0{user}\0{password}");
        var properties = new Dictionary<string, object?> { ["product"] = "Nucleon.Pipes.Benchmarks ceiling client" };
        SendMethod(0, new ConnectionStartOk(properties, "PLAIN", response, "en_US"));
        var tune = MethodFrame.Decode<ConnectionTune>(ExpectMethod(0, MethodIds.ConnectionTune));
        FrameMax = tune.FrameMax == 0 ? MaxFrame : Math.Min(tune.FrameMax, MaxFrame);
        SendMethod(0, new ConnectionTuneOk(tune.ChannelMax, FrameMax, 0));
        Call(0, new ConnectionOpen(virtualHost), MethodIds.ConnectionOpenOk);
    }

    /// <summary>Writes all of <paramref name="bytes"/> (one send call unless the kernel takes less).</summary>
    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            bytes = bytes[_socket.Send(bytes)..];
        }
    }

    /// <summary>Encodes and sends one method frame (set-up only: encodes on every call).</summary>
    public void SendMethod<T>(ushort channel, in T method) where T : struct, IAmqpMethod<T>
    {
        int n = FrameWriter.WriteMethodFrame(_scratch, channel, method);
        Send(_scratch.AsSpan(0, n));
    }

    /// <summary>Sends <paramref name="method"/> and skips incoming frames until the reply <paramref name="replyKey"/> arrives.</summary>
    public void Call<T>(ushort channel, in T method, uint replyKey) where T : struct, IAmqpMethod<T>
    {
        SendMethod(channel, method);
        ExpectMethod(channel, replyKey);
    }

    /// <summary>
    /// Skips frames until a method frame <paramref name="key"/> arrives on <paramref name="channel"/> and returns a
    /// copy of its payload. A channel.close or connection.close from the peer throws with its reply code and text.
    /// </summary>
    public byte[] ExpectMethod(ushort channel, uint key)
    {
        while (true)
        {
            while (TryReadFrame(out var frame))
            {
                if (frame.Type != AmqpConstants.FrameMethod)
                {
                    continue;
                }

                uint id = frame.MethodKey;
                ThrowIfClose(id, frame);
                if (id == key && frame.Channel == channel)
                {
                    return frame.Payload.ToArray();
                }
            }

            Receive();
        }
    }

    /// <summary>Throws with the server's reply code and text when method <paramref name="id"/> is a channel.close or connection.close.</summary>
    public static void ThrowIfClose(uint id, in Frame frame)
    {
        if (id == MethodIds.ChannelClose)
        {
            var close = MethodFrame.Decode<ChannelClose>(frame.Payload);
            throw new InvalidOperationException($"ceiling client: channel {frame.Channel} closed by the server: {close.ReplyCode} {close.ReplyText}");
        }

        if (id == MethodIds.ConnectionClose)
        {
            var close = MethodFrame.Decode<ConnectionClose>(frame.Payload);
            throw new InvalidOperationException($"ceiling client: connection closed by the server: {close.ReplyCode} {close.ReplyText}");
        }
    }

    /// <summary>Blocks until more bytes arrive, first moving a partial frame to the front when the buffer runs short.</summary>
    public void Receive()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_in.Length - _end < MaxFrame + AmqpConstants.FrameOverhead)
        {
            _in.AsSpan(_start, _end - _start).CopyTo(_in);
            _end -= _start;
            _start = 0;
        }

        int n = _socket.Receive(_in.AsSpan(_end));
        if (n == 0)
        {
            throw new InvalidOperationException("ceiling client: the server closed the socket");
        }

        _end += n;
    }

    /// <summary>The next complete frame in the receive buffer (valid until the next <see cref="Receive"/>); false when there is none.</summary>
    public bool TryReadFrame(out Frame frame)
    {
        int available = _end - _start;
        if (available >= AmqpConstants.FrameHeaderSize)
        {
            var span = _in.AsSpan(_start, available);
            int size = (int)BinaryPrimitives.ReadUInt32BigEndian(span[3..]);
            int total = size + AmqpConstants.FrameOverhead;
            if (available >= total)
            {
                if (span[total - 1] != AmqpConstants.FrameEnd)
                {
                    throw new InvalidOperationException("ceiling client: frame-end octet missing");
                }

                frame = new Frame(span[0], BinaryPrimitives.ReadUInt16BigEndian(span[1..]), span.Slice(AmqpConstants.FrameHeaderSize, size));
                _start += total;
                return true;
            }
        }

        frame = default;
        return false;
    }

    /// <summary>connection.close, then waits (bounded by the socket's own timeout) for close-ok, skipping deliveries in flight.</summary>
    public void Close()
    {
        _socket.ReceiveTimeout = 10_000;
        Call(0, new ConnectionClose(200, "ceiling client done", 0, 0), MethodIds.ConnectionCloseOk);
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>One frame parsed in place.</summary>
    internal readonly ref struct Frame(byte type, ushort channel, ReadOnlySpan<byte> payload)
    {
        public byte Type { get; } = type;

        public ushort Channel { get; } = channel;

        public ReadOnlySpan<byte> Payload { get; } = payload;

        /// <summary>A method frame's <see cref="MethodIds"/> key: (class id &lt;&lt; 16) | method id.</summary>
        public uint MethodKey => BinaryPrimitives.ReadUInt32BigEndian(Payload);
    }
}
