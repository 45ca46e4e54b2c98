using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Nucleon.Pipes.Benchmarks.NullBroker;
using Nucleon.Pipes.Connection;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Benchmarks.Micro;

/// <summary>The one config every micro-benchmark shares: in-process (no separate build), short, with allocations.</summary>
public sealed class MicroConfig : ManualConfig
{
    public MicroConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(8)
            .WithId("inproc"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumnProvider(DefaultColumnProviders.Instance);
        AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default);
        AddExporter(BenchmarkDotNet.Exporters.MarkdownExporter.GitHub);
        WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
        ArtifactsPath = Path.Combine(Path.GetTempPath(), "nucleon-bdn");
    }
}

internal static class Payloads
{
    public static readonly byte[] Body32 = CreateBody(32);

    public static byte[] CreateBody(int size)
    {
        var b = new byte[size];
        new Random(42).NextBytes(b);
        return b;
    }

    /// <summary>basic.deliver + content header (optionally with properties) + one 32-byte body frame, as the broker sends it.</summary>
    public static byte[] EncodeDelivery(ushort channel, ulong tag, BasicProperties? properties)
    {
        var deliver = new BasicDeliver("amq.ctag-benchmark-consumer-1", tag, false, "", "bench.queue");
        int size = FrameWriter.MethodFrameSize(deliver) + FrameWriter.ContentHeaderFrameSize(properties) + FrameWriter.BodyFramesSize(32, 131072);
        var buffer = new byte[size];
        int n = FrameWriter.WriteMethodFrame(buffer, channel, deliver);
        n += FrameWriter.WriteContentHeaderFrame(buffer.AsSpan(n), channel, 32, properties);
        FrameWriter.WriteBodyFrames(buffer.AsSpan(n), channel, Body32, 131072);
        return buffer;
    }

    public static Dictionary<string, object?> SmallTable() => new()
    {
        ["x-match"] = "all",
        ["x-priority"] = 5,
        ["durable"] = true,
    };

    public static Dictionary<string, object?> Headers50()
    {
        var d = new Dictionary<string, object?>();
        for (int i = 0; i < 50; i++)
        {
            d[$"header-{i:D2}"] = (i % 5) switch
            {
                0 => $"value-{i}",
                1 => i,
                2 => (long)i * 1_000_000_000L,
                3 => i % 2 == 0,
                _ => (double)i / 3,
            };
        }

        return d;
    }
}

/// <summary>Encoding a basic.publish command (method + content header + 32-byte body) into a reusable buffer.</summary>
[Config(typeof(MicroConfig))]
public class EncodeBenchmarks
{
    private readonly byte[] _buffer = new byte[4096];
    private readonly BasicProperties _props = new() { ContentType = "application/octet-stream", DeliveryMode = DeliveryMode.Persistent, CorrelationId = "c-42" };

    [Benchmark(Description = "encode publish+header+body (32 B), no properties")]
    public int EncodePublish()
    {
        var publish = new BasicPublish("amq.direct", "bench.routing.key", false, false);
        int n = FrameWriter.WriteMethodFrame(_buffer, 1, publish);
        n += FrameWriter.WriteContentHeaderFrame(_buffer.AsSpan(n), 1, 32, null);
        n += FrameWriter.WriteBodyFrames(_buffer.AsSpan(n), 1, Payloads.Body32, 131072);
        return n;
    }

    [Benchmark(Description = "encode publish as ChannelCore does (size pass + encode)")]
    public int EncodePublishSized()
    {
        var publish = new BasicPublish("amq.direct", "bench.routing.key", false, false);
        int size = FrameWriter.MethodFrameSize(publish) + FrameWriter.ContentHeaderFrameSize(null) + FrameWriter.BodyFramesSize(32, 131072);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
        int n = FrameWriter.WriteMethodFrame(buffer, 1, publish);
        n += FrameWriter.WriteContentHeaderFrame(buffer.AsSpan(n), 1, 32, null);
        n += FrameWriter.WriteBodyFrames(buffer.AsSpan(n), 1, Payloads.Body32, 131072);
        ArrayPool<byte>.Shared.Return(buffer);
        return n;
    }

    [Benchmark(Description = "encode publish with 3 properties")]
    public int EncodePublishWithProperties()
    {
        var publish = new BasicPublish("amq.direct", "bench.routing.key", false, false);
        int n = FrameWriter.WriteMethodFrame(_buffer, 1, publish);
        n += FrameWriter.WriteContentHeaderFrame(_buffer.AsSpan(n), 1, 32, _props);
        n += FrameWriter.WriteBodyFrames(_buffer.AsSpan(n), 1, Payloads.Body32, 131072);
        return n;
    }
}

/// <summary>
/// Decoding basic.deliver + header + body through FrameReader.TryReadFrame and the parsing ChannelCore.StartDeliver /
/// HandleHeader / HandleBody performs (ChannelCore needs a live ConnectionSession, so its steps are replayed here).
/// </summary>
[Config(typeof(MicroConfig))]
public class DecodeBenchmarks
{
    private ReadOnlySequence<byte> _plain;
    private ReadOnlySequence<byte> _withProps;
    private readonly byte[] _body = new byte[32];
    private byte[] _lastExchange = [];
    private string _exchange = "";
    private byte[] _lastKey = [];
    private string _key = "";
    private readonly byte[] _tagUtf8 = "amq.ctag-benchmark-consumer-1"u8.ToArray();

    [GlobalSetup]
    public void Setup()
    {
        _plain = new ReadOnlySequence<byte>(Payloads.EncodeDelivery(1, 7, null));
        _withProps = new ReadOnlySequence<byte>(Payloads.EncodeDelivery(1, 7,
            new BasicProperties { ContentType = "application/octet-stream", DeliveryMode = DeliveryMode.Persistent, CorrelationId = "c-42" }));
    }

    [Benchmark(Description = "decode deliver+header+body (reader path, no properties)")]
    public ulong DecodeDeliver() => Decode(_plain);

    [Benchmark(Description = "decode deliver+header+body (3 properties)")]
    public ulong DecodeDeliverWithProperties() => Decode(_withProps);

    [Benchmark(Description = "decode deliver via MethodFrame.Decode<BasicDeliver> (strings)")]
    public ulong DecodeDeliverStruct()
    {
        var buffer = _plain;
        FrameReader.TryReadFrame(ref buffer, 131072, out var method);
        return MethodFrame.Decode<BasicDeliver>(method.Payload).DeliveryTag;
    }

    private ulong Decode(ReadOnlySequence<byte> buffer)
    {
        ulong result = 0;
        while (FrameReader.TryReadFrame(ref buffer, 131072, out var frame))
        {
            var payload = frame.Payload.FirstSpan;
            switch (frame.Type)
            {
                case AmqpConstants.FrameMethod:
                {
                    var (c, m) = MethodFrame.ReadIds(payload);
                    if (MethodIds.Key(c, m) != MethodIds.BasicDeliver)
                    {
                        throw new InvalidOperationException();
                    }

                    var d = new AmqpDecoder(payload[4..]);
                    var tag = d.ReadShortStringBytes();
                    result = d.ReadLongLong();
                    bool redelivered = (d.ReadOctet() & 1) != 0;
                    var exchange = d.ReadShortStringBytes();
                    var key = d.ReadShortStringBytes();
                    if (!tag.SequenceEqual(_tagUtf8) || redelivered)
                    {
                        throw new InvalidOperationException();
                    }

                    if (!exchange.SequenceEqual(_lastExchange))
                    {
                        _exchange = AmqpDecoder.DecodeUtf8(exchange, "x");
                        _lastExchange = exchange.ToArray();
                    }

                    if (!key.SequenceEqual(_lastKey))
                    {
                        _key = AmqpDecoder.DecodeUtf8(key, "x");
                        _lastKey = key.ToArray();
                    }

                    break;
                }

                case AmqpConstants.FrameHeader:
                {
                    var d = new AmqpDecoder(payload);
                    var (_, size) = ContentHeader.ReadPrefix(ref d);
                    var props = BasicPropertiesCodec.Read(ref d);
                    result += size + (props.IsEmpty ? 0UL : 1UL);
                    break;
                }

                case AmqpConstants.FrameBody:
                    frame.Payload.CopyTo(_body);
                    break;
            }
        }

        return result;
    }
}

[Config(typeof(MicroConfig))]
public class FieldTableBenchmarks
{
    private readonly byte[] _buffer = new byte[16384];
    private Dictionary<string, object?> _small = null!;
    private Dictionary<string, object?> _large = null!;
    private byte[] _smallEncoded = null!;
    private byte[] _largeEncoded = null!;

    [GlobalSetup]
    public void Setup()
    {
        _small = Payloads.SmallTable();
        _large = Payloads.Headers50();
        _smallEncoded = Encode(_small);
        _largeEncoded = Encode(_large);
    }

    private static byte[] Encode(Dictionary<string, object?> table)
    {
        var b = new byte[FieldTableCodec.GetSize(table)];
        var e = new AmqpEncoder(b);
        FieldTableCodec.Write(ref e, table);
        return b;
    }

    [Benchmark(Description = "field table encode, 3 entries (size + write)")]
    public int EncodeSmall()
    {
        int size = FieldTableCodec.GetSize(_small);
        var e = new AmqpEncoder(_buffer.AsSpan(0, size));
        FieldTableCodec.Write(ref e, _small);
        return e.Position;
    }

    [Benchmark(Description = "field table decode, 3 entries")]
    public int DecodeSmall()
    {
        var d = new AmqpDecoder(_smallEncoded);
        return FieldTableCodec.Read(ref d, 0).Count;
    }

    [Benchmark(Description = "field table encode, 50 headers (size + write)")]
    public int EncodeLarge()
    {
        int size = FieldTableCodec.GetSize(_large);
        var e = new AmqpEncoder(_buffer.AsSpan(0, size));
        FieldTableCodec.Write(ref e, _large);
        return e.Position;
    }

    [Benchmark(Description = "field table decode, 50 headers")]
    public int DecodeLarge()
    {
        var d = new AmqpDecoder(_largeEncoded);
        return FieldTableCodec.Read(ref d, 0).Count;
    }
}

/// <summary>
/// The real OutboundWriter loop and an OutboundQueue over an in-memory Pipe (no socket): 1,000 publish commands
/// per invocation are encoded into pooled buffers, queued, written and flushed by the writer task, and read back.
/// </summary>
[Config(typeof(MicroConfig))]
public class WriterLoopBenchmarks
{
    private const int Batch = 1000;
    private Pipe _pipe = null!;
    private OutboundWriter _writer = null!;
    private OutboundQueue _queue = null!;
    private Task<Exception?> _run = null!;
    private int _commandSize;

    [GlobalSetup]
    public void Setup()
    {
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
        _writer = new OutboundWriter(_pipe.Writer, 64, TimeProvider.System);
        _queue = _writer.CreateQueue(1, 2 * Batch);
        _run = Task.Run(_writer.RunAsync);
        var publish = new BasicPublish("", "bench.queue", false, false);
        _commandSize = FrameWriter.MethodFrameSize(publish) + FrameWriter.ContentHeaderFrameSize(null) + FrameWriter.BodyFramesSize(32, 131072);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writer.Stop(null);
        _pipe.Reader.Complete();
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "writer loop: encode + enqueue + write + flush (per message)")]
    public async Task WriterLoop()
    {
        var publish = new BasicPublish("", "bench.queue", false, false);
        for (int i = 0; i < Batch; i++)
        {
            byte[] buffer = OutboundCommand.Rent(_commandSize);
            int n = FrameWriter.WriteMethodFrame(buffer, 1, publish);
            n += FrameWriter.WriteContentHeaderFrame(buffer.AsSpan(n), 1, 32, null);
            n += FrameWriter.WriteBodyFrames(buffer.AsSpan(n), 1, Payloads.Body32, 131072);
            await _queue.EnqueueAsync(new OutboundCommand(buffer, n), CancellationToken.None);
        }

        long expected = (long)Batch * _commandSize;
        long seen = 0;
        while (seen < expected)
        {
            var r = await _pipe.Reader.ReadAsync();
            seen += r.Buffer.Length;
            _pipe.Reader.AdvanceTo(r.Buffer.End);
        }
    }
}

/// <summary>
/// The reader side over an in-memory pipe: ConnectionSession's reader needs a SocketTransport (no in-memory
/// constructor), so this replays its loop shape (ReadAsync, TryReadFrame until incomplete, AdvanceTo) with the
/// ChannelCore-equivalent parsing, 1,000 pre-encoded deliveries per invocation.
/// </summary>
[Config(typeof(MicroConfig))]
public class ReaderLoopBenchmarks
{
    private const int Batch = 1000;
    private Pipe _pipe = null!;
    private byte[] _deliveries = null!;
    private readonly byte[] _body = new byte[32];

    [GlobalSetup]
    public void Setup()
    {
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false, minimumSegmentSize: 65536));
        var one = Payloads.EncodeDelivery(1, 1, null);
        _deliveries = new byte[one.Length * Batch];
        for (int i = 0; i < Batch; i++)
        {
            one.CopyTo(_deliveries, i * one.Length);
        }
    }

    private readonly byte[] _scratch = new byte[4096];

    // As ConnectionSession.Contiguous: a payload that straddles pipe segments is copied to a scratch buffer.
    private ReadOnlySpan<byte> Contiguous(in ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return payload.FirstSpan;
        }

        payload.CopyTo(_scratch);
        return _scratch.AsSpan(0, (int)payload.Length);
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "reader loop equivalent over in-memory pipe (per delivery)")]
    public async Task<long> ReaderLoop()
    {
        // Write in 16 KiB chunks as a socket would deliver them.
        for (int off = 0; off < _deliveries.Length; off += 16384)
        {
            _pipe.Writer.Write(_deliveries.AsSpan(off, Math.Min(16384, _deliveries.Length - off)));
        }

        await _pipe.Writer.FlushAsync();
        long frames = 0;
        while (frames < 3 * Batch)
        {
            var r = await _pipe.Reader.ReadAsync();
            var buffer = r.Buffer;
            while (FrameReader.TryReadFrame(ref buffer, 131072, out var frame))
            {
                frames++;
                if (frame.Type == AmqpConstants.FrameMethod)
                {
                    var (c, m) = MethodFrame.ReadIds(frame.Payload);
                    if (MethodIds.Key(c, m) == MethodIds.BasicDeliver)
                    {
                        var d = new AmqpDecoder(Contiguous(frame.Payload)[4..]);
                        d.ReadShortStringBytes();
                        d.ReadLongLong();
                    }
                }
                else if (frame.Type == AmqpConstants.FrameHeader)
                {
                    var d = new AmqpDecoder(Contiguous(frame.Payload));
                    ContentHeader.ReadPrefix(ref d);
                    BasicPropertiesCodec.Read(ref d);
                }
                else
                {
                    frame.Payload.CopyTo(_body);
                }
            }

            _pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
        }

        return frames;
    }
}

/// <summary>
/// The real client end to end over loopback against the in-process null broker: the real ConnectionSession reader
/// (consume) and the public publish path. Allocations include the in-process null broker's (small, per batch).
/// </summary>
[Config(typeof(MicroConfig))]
public class LoopbackBenchmarks
{
    private const int Batch = 10_000;
    private NullBrokerServer _broker = null!;
    private AmqpConnection _conn = null!;
    private MessageChannel _plain = null!;
    private MessageChannel _confirm = null!;
    private MessageChannel _consumer = null!;
    private readonly ValueTask[] _inFlight = new ValueTask[1000];

    [GlobalSetup]
    public async Task Setup()
    {
        _broker = new NullBrokerServer();
        _broker.Start();
        _conn = new AmqpConnection(_broker.Uri);
        await _conn.ConnectAsync();
        _plain = await _conn.AllocateChannelAsync();
        _confirm = await _conn.AllocateChannelAsync(new ChannelOptions { PublisherConfirms = true });
        _consumer = await _conn.AllocateChannelAsync();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _conn.CloseAsync();
        await _broker.DisposeAsync();
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "loopback: PublishAsync (per message; + 1 round trip per 10k)")]
    public async Task Publish()
    {
        for (int i = 0; i < Batch; i++)
        {
            await _plain.PublishAsync("", "bench", Payloads.Body32);
        }

        await _plain.QueueDeclareAsync("bench", passive: true);
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "loopback: confirmed PublishAsync, 1,000 in flight (per message)")]
    public async Task PublishConfirm()
    {
        for (int i = 0; i < Batch; i++)
        {
            int slot = i % _inFlight.Length;
            if (i >= _inFlight.Length)
            {
                await _inFlight[slot];
            }

            _inFlight[slot] = _confirm.PublishAsync("", "bench", Payloads.Body32);
        }

        for (int i = 0; i < _inFlight.Length; i++)
        {
            await _inFlight[i];
        }
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "loopback: consume with manual ack, prefetch 200 (per message)")]
    public async Task<long> ConsumeManualAck()
    {
        long n = 0;
        await foreach (var m in _consumer.ConsumeAsync($"null:{Batch}:32", new ConsumeOptions { Prefetch = 200 }))
        {
            n += m.Body.Length;
            bool last = m.DeliveryTag % Batch == 0;
            await m.AckAsync(); // the message's delivery goes back to the pool here
            if (last)
            {
                break;
            }
        }

        return n;
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "loopback: consume, multiple ack every 100, prefetch 200 (per message)")]
    public async Task<long> ConsumeMultipleAck()
    {
        long n = 0;
        await foreach (var m in _consumer.ConsumeAsync($"null:{Batch}:32", new ConsumeOptions { Prefetch = 200 }))
        {
            n += m.Body.Length;
            bool last = m.DeliveryTag % Batch == 0;
            if (last || m.DeliveryTag % 100 == 0)
            {
                await m.AckAsync(multiple: true); // the loop releases the covered deliveries on its next step
            }

            if (last)
            {
                break;
            }
        }

        return n;
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "loopback: ProcessAsync, 4 handlers, manual ack, prefetch 200 (per message)")]
    public async Task<int> ProcessConcurrently()
    {
        using var done = new CancellationTokenSource();
        int seen = 0;
        try
        {
            await _consumer.ConsumeAsync($"null:{Batch}:32", new ConsumeOptions { Prefetch = 200 }).ProcessAsync((m, _) =>
            {
                if (Interlocked.Increment(ref seen) == Batch)
                {
                    done.Cancel();
                }

                return ValueTask.CompletedTask;
            }, new ProcessOptions { Concurrency = 4 }, done.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return seen;
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "loopback: consume autoAck via the real reader (per message)")]
    public async Task<long> ConsumeAutoAck()
    {
        long n = 0;
        await foreach (var m in _consumer.ConsumeAsync($"null:{Batch}:32", new ConsumeOptions { AutoAck = true }))
        {
            n += m.Body.Length;
            if (m.DeliveryTag % Batch == 0)
            {
                break;
            }
        }

        return n;
    }
}
