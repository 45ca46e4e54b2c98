using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Benchmarks.NullBroker;

/// <summary>
/// A minimal AMQP 0-9-1 endpoint for isolating a client's own cost: it does the real handshake, answers every
/// synchronous method with its -ok, discards publishes, acks confirms after every read buffer (one basic.ack,
/// multiple=true), and streams pre-encoded deliveries to consumers of queues named <c>null:COUNT:SIZE</c>
/// (honouring basic.qos prefetch unless no-ack). A publish that carries reply-to is delivered back to the consumer
/// of the queue named by reply-to on the same connection (so RPC round trips need no responder).
/// </summary>
internal sealed class NullBrokerServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private Task? _accept;

    public NullBrokerServer(int port = 0, PublishTracker? tracker = null)
    {
        Tracker = tracker;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        _listener.Listen(128);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
    }

    public int Port { get; }

    /// <summary>Counts publishes per <c>track.N</c> routing key where they arrive (null: not tracked, no cost).</summary>
    public PublishTracker? Tracker { get; }

    public string Uri => $"amqp://guest:guest@127.0.0.1:{Port}/";

    public void Start() => _accept = AcceptLoopAsync();

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            socket.NoDelay = true;
            var connection = new NullBrokerConnection(socket, Tracker);
            _ = Task.Run(connection.RunAsync);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        if (_accept is not null)
        {
            await _accept.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Entry point of <c>nullbroker --port N [--track]</c>: prints "LISTENING port" and runs until stdin closes or a
    /// signal. With --track, stdin takes commands: <c>reset</c> (answers OK) clears the per-publisher counts and
    /// <c>stats</c> prints them (<see cref="PublishTracker.Lines"/>) between a line <c>STATS frequency</c> and <c>END</c>.
    /// </summary>
    public static async Task<int> MainAsync(string[] args)
    {
        int port = 0;
        bool track = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--port" && i + 1 < args.Length)
            {
                port = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (args[i] == "--track")
            {
                track = true;
            }
        }

        await using var server = new NullBrokerServer(port, track ? new PublishTracker() : null);
        server.Start();
        Console.WriteLine($"LISTENING {server.Port}");
        Console.Out.Flush();
        var done = new TaskCompletionSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; done.TrySetResult(); };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => done.TrySetResult();
        // The parent closes our stdin to stop us.
        _ = Task.Run(() =>
        {
            try
            {
                while (Console.In.ReadLine() is { } command)
                {
                    if (server.Tracker is not { } tracker)
                    {
                        continue;
                    }

                    if (command == "reset")
                    {
                        tracker.Reset();
                        Console.Out.Write("OK\n");
                    }
                    else if (command == "stats")
                    {
                        Console.Out.Write($"STATS {System.Diagnostics.Stopwatch.Frequency}\n{tracker.Lines()}END\n");
                    }

                    Console.Out.Flush();
                }
            }
            catch (IOException)
            {
            }

            done.TrySetResult();
        });
        await done.Task.ConfigureAwait(false);
        return 0;
    }
}

internal sealed class NullBrokerConnection
{
    private const uint FrameMax = 131_072;
    private const ushort ReplyToFlag = 1 << 9;
    private static int s_nameCounter;

    private readonly Socket _socket;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly object _gate = new();
    private readonly Dictionary<ushort, ChannelState> _channels = [];
    private readonly List<Consumer> _consumers = [];
    private readonly ArrayBufferWriter<byte> _replies = new(4096);
    private readonly List<ChannelState> _toAck = [];
    private byte[] _scratch = new byte[FrameMax];
    private volatile bool _closed;
    private readonly PublishTracker? _tracker;
    private long _readTimestamp; // when the read buffer being parsed arrived (only kept when tracking)

    public NullBrokerConnection(Socket socket, PublishTracker? tracker = null)
    {
        _socket = socket;
        _tracker = tracker;
        var stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 16384));
        _output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 65536));
    }

    private sealed class ChannelState(ushort number)
    {
        public ushort Number { get; } = number;
        public bool Confirm;
        public ulong Published;
        public ulong AckSent;
        public ushort Prefetch;
        public ulong DeliveryTag;
        public long Outstanding;
        public bool ExpectHeader;
        public long BodyRemaining;
        public string? EchoTo;
        public byte[]? EchoHeader;
        public ArrayBufferWriter<byte>? EchoBody;
        public int TrackId = -1; // the publisher id of the publish in progress (PublishTracker), -1 if none
    }

    private sealed class Consumer
    {
        public required ChannelState Channel { get; init; }
        public required string Tag { get; init; }
        public required string Queue { get; init; }
        public bool NoAck { get; init; }
        public long Remaining;
        public byte[] Template = [];
        public int TagOffset;
    }

    public async Task RunAsync()
    {
        Task? pump = null;
        Task? heartbeats = null;
        try
        {
            if (!await HandshakeAsync().ConfigureAwait(false))
            {
                return;
            }

            pump = Task.Run(PumpAsync);
            heartbeats = Task.Run(HeartbeatAsync);
            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"nullbroker: connection failed: {ex}");
        }
        finally
        {
            _closed = true;
            _wake.Release();
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception)
            {
            }

            _socket.Dispose();
        }
    }

    // ------------------------------------------------------------------ handshake

    private async Task<bool> HandshakeAsync()
    {
        // Protocol header.
        while (true)
        {
            var r = await _input.ReadAsync().ConfigureAwait(false);
            if (r.Buffer.Length >= 8)
            {
                _input.AdvanceTo(r.Buffer.GetPosition(8));
                break;
            }

            if (r.IsCompleted)
            {
                return false;
            }

            _input.AdvanceTo(r.Buffer.Start, r.Buffer.End);
        }

        var capabilities = new Dictionary<string, object?>
        {
            ["publisher_confirms"] = true,
            ["exchange_exchange_bindings"] = true,
            ["basic.nack"] = true,
            ["consumer_cancel_notify"] = true,
            ["connection.blocked"] = true,
            ["consumer_priorities"] = true,
            ["authentication_failure_close"] = true,
            ["per_consumer_qos"] = true,
            ["direct_reply_to"] = true,
        };
        var props = new Dictionary<string, object?>
        {
            ["product"] = "Nucleon null broker",
            ["version"] = "null-broker",
            ["platform"] = ".NET",
            ["capabilities"] = capabilities,
        };
        await WriteNowAsync(0, new ConnectionStart(0, 9, props, "PLAIN AMQPLAIN", "en_US")).ConfigureAwait(false);
        if (await ReadMethodIdAsync().ConfigureAwait(false) != MethodIds.ConnectionStartOk)
        {
            return false;
        }

        await WriteNowAsync(0, new ConnectionTune(2047, FrameMax, 0)).ConfigureAwait(false);
        if (await ReadMethodIdAsync().ConfigureAwait(false) != MethodIds.ConnectionTuneOk)
        {
            return false;
        }

        if (await ReadMethodIdAsync().ConfigureAwait(false) != MethodIds.ConnectionOpen)
        {
            return false;
        }

        await WriteNowAsync(0, new ConnectionOpenOk()).ConfigureAwait(false);
        return true;
    }

    private async Task<uint> ReadMethodIdAsync()
    {
        while (true)
        {
            var r = await _input.ReadAsync().ConfigureAwait(false);
            var buffer = r.Buffer;
            if (FrameReader.TryReadFrame(ref buffer, FrameMax, out var frame))
            {
                uint id = 0;
                if (frame.Type == AmqpConstants.FrameMethod)
                {
                    var (c, m) = MethodFrame.ReadIds(frame.Payload);
                    id = MethodIds.Key(c, m);
                }

                _input.AdvanceTo(buffer.Start);
                if (id != 0)
                {
                    return id;
                }

                continue; // heartbeats during the handshake
            }

            if (r.IsCompleted)
            {
                return 0;
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async Task WriteNowAsync<T>(ushort channel, T method) where T : struct, IAmqpMethod<T>
    {
        AppendMethod(channel, method);
        await FlushRepliesAsync().ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ reading

    private async Task ReadLoopAsync()
    {
        while (!_closed)
        {
            var r = await _input.ReadAsync().ConfigureAwait(false);
            if (_tracker is not null)
            {
                _readTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
            }

            var buffer = r.Buffer;
            bool stop = false;
            while (!stop && FrameReader.TryReadFrame(ref buffer, FrameMax, out var frame))
            {
                stop = HandleFrame(frame);
            }

            _input.AdvanceTo(buffer.Start, buffer.End);

            // One ack (multiple=true) per confirm channel per read buffer.
            lock (_gate)
            {
                foreach (var ch in _toAck)
                {
                    if (ch.Published > ch.AckSent)
                    {
                        ch.AckSent = ch.Published;
                        AppendMethod(ch.Number, new BasicAck(ch.Published, true));
                    }
                }

                _toAck.Clear();
            }

            await FlushRepliesAsync().ConfigureAwait(false);
            if (stop || r.IsCompleted)
            {
                _closed = true;
                return;
            }
        }
    }

    private ReadOnlySpan<byte> Contiguous(in ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return payload.FirstSpan;
        }

        if (_scratch.Length < payload.Length)
        {
            _scratch = new byte[payload.Length];
        }

        payload.CopyTo(_scratch);
        return _scratch.AsSpan(0, (int)payload.Length);
    }

    /// <summary>Returns true when the connection is to end (connection.close received).</summary>
    private bool HandleFrame(in RawFrame frame)
    {
        switch (frame.Type)
        {
            case AmqpConstants.FrameMethod:
                return HandleMethod(frame.Channel, Contiguous(frame.Payload));
            case AmqpConstants.FrameHeader:
            {
                var ch = Channel(frame.Channel);
                if (!ch.ExpectHeader)
                {
                    return false;
                }

                ch.ExpectHeader = false;
                var payload = Contiguous(frame.Payload);
                ulong bodySize = BinaryPrimitives.ReadUInt64BigEndian(payload[4..]);
                ushort flags = BinaryPrimitives.ReadUInt16BigEndian(payload[12..]);
                if ((flags & ReplyToFlag) != 0)
                {
                    var decoder = new AmqpDecoder(payload[12..]);
                    var properties = BasicPropertiesCodec.Read(ref decoder);
                    ch.EchoTo = properties.ReplyTo;
                    ch.EchoHeader = payload.ToArray();
                    ch.EchoBody ??= new ArrayBufferWriter<byte>();
                    ch.EchoBody.ResetWrittenCount();
                }

                ch.BodyRemaining = (long)bodySize;
                if (bodySize == 0)
                {
                    CompletePublish(ch);
                }

                return false;
            }

            case AmqpConstants.FrameBody:
            {
                var ch = Channel(frame.Channel);
                if (ch.BodyRemaining <= 0)
                {
                    return false;
                }

                ch.BodyRemaining -= frame.Payload.Length;
                if (ch.EchoTo is not null)
                {
                    foreach (var segment in frame.Payload)
                    {
                        ch.EchoBody!.Write(segment.Span);
                    }
                }

                if (ch.BodyRemaining <= 0)
                {
                    CompletePublish(ch);
                }

                return false;
            }

            default:
                return false; // heartbeats
        }
    }

    private ChannelState Channel(ushort number)
    {
        lock (_gate)
        {
            if (!_channels.TryGetValue(number, out var ch))
            {
                ch = new ChannelState(number);
                _channels[number] = ch;
            }

            return ch;
        }
    }

    private void CompletePublish(ChannelState ch)
    {
        if (ch.TrackId >= 0)
        {
            _tracker!.Record(ch.TrackId, _readTimestamp);
        }

        lock (_gate)
        {
            if (ch.Confirm)
            {
                ch.Published++;
                if (ch.Published == ch.AckSent + 1)
                {
                    _toAck.Add(ch);
                }
            }

            if (ch.EchoTo is { } replyTo)
            {
                ch.EchoTo = null;
                foreach (var c in _consumers)
                {
                    if (c.Queue == replyTo)
                    {
                        c.Channel.DeliveryTag++;
                        if (!c.NoAck)
                        {
                            c.Channel.Outstanding++;
                        }

                        AppendMethod(c.Channel.Number, new BasicDeliver(c.Tag, c.Channel.DeliveryTag, false, "", replyTo));
                        var header = ch.EchoHeader!;
                        var span = _replies.GetSpan(header.Length + AmqpConstants.FrameOverhead);
                        span[0] = AmqpConstants.FrameHeader;
                        BinaryPrimitives.WriteUInt16BigEndian(span[1..], c.Channel.Number);
                        BinaryPrimitives.WriteUInt32BigEndian(span[3..], (uint)header.Length);
                        header.CopyTo(span[7..]);
                        span[7 + header.Length] = AmqpConstants.FrameEnd;
                        _replies.Advance(header.Length + AmqpConstants.FrameOverhead);
                        var body = ch.EchoBody!.WrittenSpan;
                        int size = FrameWriter.BodyFramesSize(body.Length, (int)FrameMax);
                        FrameWriter.WriteBodyFrames(_replies.GetSpan(size), c.Channel.Number, body, (int)FrameMax);
                        _replies.Advance(size);
                        break;
                    }
                }
            }
        }
    }

    private bool HandleMethod(ushort channel, ReadOnlySpan<byte> payload)
    {
        var (classId, methodId) = MethodFrame.ReadIds(payload);
        uint id = MethodIds.Key(classId, methodId);
        if (id == MethodIds.BasicPublish)
        {
            var ch = Channel(channel);
            ch.ExpectHeader = true;
            if (_tracker is not null)
            {
                // class, method, ticket (2), exchange (short string), then the routing key (short string).
                var key = payload[(7 + payload[6])..];
                ch.TrackId = PublishTracker.ParseId(key.Slice(1, key[0]));
            }

            return false;
        }

        switch (id)
        {
            case MethodIds.BasicAck:
            {
                var ack = MethodFrame.Decode<BasicAck>(payload);
                Settle(channel, ack.DeliveryTag, ack.Multiple);
                break;
            }

            case MethodIds.BasicNack:
            {
                var nack = MethodFrame.Decode<BasicNack>(payload);
                Settle(channel, nack.DeliveryTag, nack.Multiple);
                break;
            }

            case MethodIds.BasicReject:
                Settle(channel, MethodFrame.Decode<BasicReject>(payload).DeliveryTag, false);
                break;
            case MethodIds.ConnectionClose:
                AppendMethod(0, new ConnectionCloseOk());
                return true;
            case MethodIds.ConnectionCloseOk:
                return true;
            case MethodIds.ChannelOpen:
                lock (_gate)
                {
                    _channels[channel] = new ChannelState(channel);
                }

                AppendMethod(channel, new ChannelOpenOk());
                break;
            case MethodIds.ChannelClose:
                DropChannel(channel);
                AppendMethod(channel, new ChannelCloseOk());
                break;
            case MethodIds.ChannelCloseOk:
                DropChannel(channel);
                break;
            case MethodIds.ChannelFlow:
                AppendMethod(channel, new ChannelFlowOk(MethodFrame.Decode<ChannelFlow>(payload).Active));
                break;
            case MethodIds.ExchangeDeclare:
                if (!MethodFrame.Decode<ExchangeDeclare>(payload).NoWait)
                {
                    AppendMethod(channel, new ExchangeDeclareOk());
                }

                break;
            case MethodIds.ExchangeDelete:
                if (!MethodFrame.Decode<ExchangeDelete>(payload).NoWait)
                {
                    AppendMethod(channel, new ExchangeDeleteOk());
                }

                break;
            case MethodIds.ExchangeBind:
                if (!MethodFrame.Decode<ExchangeBind>(payload).NoWait)
                {
                    AppendMethod(channel, new ExchangeBindOk());
                }

                break;
            case MethodIds.ExchangeUnbind:
                if (!MethodFrame.Decode<ExchangeUnbind>(payload).NoWait)
                {
                    AppendMethod(channel, new ExchangeUnbindOk());
                }

                break;
            case MethodIds.QueueDeclare:
            {
                var qd = MethodFrame.Decode<QueueDeclare>(payload);
                string name = qd.Queue.Length == 0 ? $"amq.gen-null-{Interlocked.Increment(ref s_nameCounter)}" : qd.Queue;
                if (!qd.NoWait)
                {
                    uint count = TryParseNullQueue(name, out long n, out _) ? (uint)Math.Min(n, uint.MaxValue) : 0;
                    AppendMethod(channel, new QueueDeclareOk(name, count, 0));
                }

                break;
            }

            case MethodIds.QueueBind:
                if (!MethodFrame.Decode<QueueBind>(payload).NoWait)
                {
                    AppendMethod(channel, new QueueBindOk());
                }

                break;
            case MethodIds.QueueUnbind:
                AppendMethod(channel, new QueueUnbindOk());
                break;
            case MethodIds.QueuePurge:
                if (!MethodFrame.Decode<QueuePurge>(payload).NoWait)
                {
                    AppendMethod(channel, new QueuePurgeOk(0));
                }

                break;
            case MethodIds.QueueDelete:
                if (!MethodFrame.Decode<QueueDelete>(payload).NoWait)
                {
                    AppendMethod(channel, new QueueDeleteOk(0));
                }

                break;
            case MethodIds.BasicQos:
            {
                var qos = MethodFrame.Decode<BasicQos>(payload);
                Channel(channel).Prefetch = qos.PrefetchCount;
                AppendMethod(channel, new BasicQosOk());
                break;
            }

            case MethodIds.BasicConsume:
                StartConsumer(channel, MethodFrame.Decode<BasicConsume>(payload));
                break;
            case MethodIds.BasicCancel:
            {
                var cancel = MethodFrame.Decode<BasicCancel>(payload);
                lock (_gate)
                {
                    _consumers.RemoveAll(c => c.Tag == cancel.ConsumerTag && c.Channel.Number == channel);
                }

                if (!cancel.NoWait)
                {
                    AppendMethod(channel, new BasicCancelOk(cancel.ConsumerTag));
                }

                break;
            }

            case MethodIds.BasicGet:
                AppendMethod(channel, new BasicGetEmpty());
                break;
            case MethodIds.BasicRecover:
                AppendMethod(channel, new BasicRecoverOk());
                break;
            case MethodIds.ConfirmSelect:
            {
                var ch = Channel(channel);
                ch.Confirm = true;
                if (!MethodFrame.Decode<ConfirmSelect>(payload).NoWait)
                {
                    AppendMethod(channel, new ConfirmSelectOk());
                }

                break;
            }

            case MethodIds.TxSelect:
                AppendMethod(channel, new TxSelectOk());
                break;
            case MethodIds.TxCommit:
                AppendMethod(channel, new TxCommitOk());
                break;
            case MethodIds.TxRollback:
                AppendMethod(channel, new TxRollbackOk());
                break;
            default:
                break;
        }

        return false;
    }

    private void DropChannel(ushort channel)
    {
        lock (_gate)
        {
            _channels.Remove(channel);
            _consumers.RemoveAll(c => c.Channel.Number == channel);
        }
    }

    private void Settle(ushort channel, ulong tag, bool multiple)
    {
        lock (_gate)
        {
            if (!_channels.TryGetValue(channel, out var ch))
            {
                return;
            }

            if (multiple)
            {
                ch.Outstanding = Math.Max(0, (long)(ch.DeliveryTag - tag));
            }
            else if (ch.Outstanding > 0)
            {
                ch.Outstanding--;
            }
        }

        _wake.Release();
    }

    /// <summary>Queues named <c>null:COUNT:SIZE</c> stream COUNT deliveries of SIZE-byte bodies to their consumer.</summary>
    internal static bool TryParseNullQueue(string name, out long count, out int size)
    {
        count = 0;
        size = 32;
        if (!name.StartsWith("null:", StringComparison.Ordinal))
        {
            return false;
        }

        var parts = name.Split(':');
        count = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        if (parts.Length > 2)
        {
            size = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
        }

        return true;
    }

    private void StartConsumer(ushort channel, BasicConsume consume)
    {
        string tag = consume.ConsumerTag.Length == 0 ? $"amq.ctag-null-{Interlocked.Increment(ref s_nameCounter)}" : consume.ConsumerTag;
        var ch = Channel(channel);
        var consumer = new Consumer { Channel = ch, Tag = tag, Queue = consume.Queue, NoAck = consume.NoAck };
        if (TryParseNullQueue(consume.Queue, out long count, out int size))
        {
            consumer.Remaining = count;
            var deliver = new BasicDeliver(tag, 0, false, "", consume.Queue);
            int methodSize = FrameWriter.MethodFrameSize(deliver);
            int total = methodSize + FrameWriter.ContentHeaderFrameSize(null) + FrameWriter.BodyFramesSize(size, (int)FrameMax);
            var template = new byte[total];
            int n = FrameWriter.WriteMethodFrame(template, channel, deliver);
            n += FrameWriter.WriteContentHeaderFrame(template.AsSpan(n), channel, (ulong)size, null);
            byte[] body = new byte[size];
            Random.Shared.NextBytes(body);
            FrameWriter.WriteBodyFrames(template.AsSpan(n), channel, body, (int)FrameMax);
            consumer.Template = template;
            consumer.TagOffset = AmqpConstants.FrameHeaderSize + 4 + 1 + System.Text.Encoding.UTF8.GetByteCount(tag);
        }

        // consume-ok goes out before the first delivery: the reply is flushed at the end of this read buffer
        // and the pump only starts after the consumer is visible, which happens after the reply is queued.
        if (!consume.NoWait)
        {
            AppendMethod(channel, new BasicConsumeOk(tag));
        }

        _pendingConsumers.Add(consumer);
    }

    private readonly List<Consumer> _pendingConsumers = [];

    private async Task FlushRepliesAsync()
    {
        List<Consumer>? started = null;
        if (_pendingConsumers.Count > 0)
        {
            started = [.. _pendingConsumers];
            _pendingConsumers.Clear();
        }

        if (_replies.WrittenCount > 0)
        {
            await _writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                lock (_gate)
                {
                    _output.Write(_replies.WrittenSpan);
                    _replies.ResetWrittenCount();
                }

                await _output.FlushAsync().ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }

        if (started is not null)
        {
            lock (_gate)
            {
                _consumers.AddRange(started);
            }

            _wake.Release();
        }
    }

    private void AppendMethod<T>(ushort channel, in T method) where T : struct, IAmqpMethod<T>
    {
        lock (_gate)
        {
            int size = FrameWriter.MethodFrameSize(method);
            int n = FrameWriter.WriteMethodFrame(_replies.GetSpan(size), channel, method);
            _replies.Advance(n);
        }
    }

    // ------------------------------------------------------------------ delivery pump

    private async Task PumpAsync()
    {
        const int MaxBatchBytes = 256 * 1024;
        var work = new List<(Consumer Consumer, ulong FirstTag, int Count)>();
        int next = 0;
        while (!_closed)
        {
            work.Clear();
            int bytes = 0;
            lock (_gate)
            {
                for (int k = 0; k < _consumers.Count && bytes < MaxBatchBytes; k++)
                {
                    var c = _consumers[(next + k) % _consumers.Count];
                    if (c.Remaining <= 0)
                    {
                        continue;
                    }

                    long room = c.NoAck || c.Channel.Prefetch == 0 ? long.MaxValue : c.Channel.Prefetch - c.Channel.Outstanding;
                    long byBytes = Math.Max(1, (MaxBatchBytes - bytes) / c.Template.Length);
                    int n = (int)Math.Min(Math.Min(room, c.Remaining), byBytes);
                    if (n <= 0)
                    {
                        continue;
                    }

                    work.Add((c, c.Channel.DeliveryTag + 1, n));
                    c.Channel.DeliveryTag += (ulong)n;
                    if (!c.NoAck)
                    {
                        c.Channel.Outstanding += n;
                    }

                    c.Remaining -= n;
                    bytes += n * c.Template.Length;
                }

                next++;
            }

            if (work.Count == 0)
            {
                await _wake.WaitAsync().ConfigureAwait(false);
                continue;
            }

            await _writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                foreach (var (c, first, count) in work)
                {
                    var template = c.Template;
                    for (int i = 0; i < count; i++)
                    {
                        // The first chunk carries the method frame, whose delivery tag is patched in place.
                        int head = Math.Min(template.Length, 65536);
                        var span = _output.GetSpan(head);
                        template.AsSpan(0, head).CopyTo(span);
                        BinaryPrimitives.WriteUInt64BigEndian(span[c.TagOffset..], first + (ulong)i);
                        _output.Advance(head);
                        for (int off = head; off < template.Length; off += 65536)
                        {
                            _output.Write(template.AsSpan(off, Math.Min(65536, template.Length - off)));
                        }
                    }
                }

                var flush = await _output.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    return;
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
    }

    private async Task HeartbeatAsync()
    {
        byte[] frame = new byte[AmqpConstants.FrameOverhead];
        FrameWriter.WriteHeartbeat(frame);
        while (!_closed)
        {
            await Task.Delay(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            if (_closed)
            {
                return;
            }

            await _writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                _output.Write(frame);
                await _output.FlushAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                return;
            }
            finally
            {
                _writeLock.Release();
            }
        }
    }
}
