using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>
/// A bare AMQP 0-9-1 publisher over a socket: it writes the content header's property bytes exactly as
/// given, so tests can put on the wire what no client library (this one included) would encode, and
/// publishes on a confirm channel so the broker has taken each message when <see cref="PublishAsync"/> returns.
/// </summary>
internal sealed class RawAmqpPublisher : IAsyncDisposable
{
    /// <summary>The headers property flag (bit 13 of the property flags).</summary>
    public const ushort HeadersFlag = 1 << 13;

    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private ulong _published;

    private RawAmqpPublisher(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    /// <summary>Connects, opens channel 1 and puts it in confirm mode.</summary>
    public static async Task<RawAmqpPublisher> ConnectAsync(string amqpUri, CancellationToken ct)
    {
        var options = AmqpConnectionOptions.Parse(amqpUri);
        var endpoint = options.Endpoints[0];
        var client = new TcpClient();
        await client.ConnectAsync(endpoint.Host, endpoint.Port, ct);
        var publisher = new RawAmqpPublisher(client);
        await publisher.HandshakeAsync(options, ct);
        return publisher;
    }

    private async Task HandshakeAsync(AmqpConnectionOptions options, CancellationToken ct)
    {
        await _stream.WriteAsync("AMQP\0\0\u0009\u0001"u8.ToArray(), ct);
        await ExpectMethodAsync(0, MethodIds.ConnectionStart, ct);
        byte[] response = Encoding.UTF8.GetBytes($"\0{options.UserName}\0{options.Password}");
        await SendMethodAsync(0, new ConnectionStartOk(null, "PLAIN", response, "en_US"), ct);
        var tune = MethodFrame.Decode<ConnectionTune>(await ExpectMethodAsync(0, MethodIds.ConnectionTune, ct));
        await SendMethodAsync(0, new ConnectionTuneOk(tune.ChannelMax, tune.FrameMax, 0), ct);
        await SendMethodAsync(0, new ConnectionOpen(options.VirtualHost), ct);
        await ExpectMethodAsync(0, MethodIds.ConnectionOpenOk, ct);
        await SendMethodAsync(1, new ChannelOpen(), ct);
        await ExpectMethodAsync(1, MethodIds.ChannelOpenOk, ct);
        await SendMethodAsync(1, new ConfirmSelect(false), ct);
        await ExpectMethodAsync(1, MethodIds.ConfirmSelectOk, ct);
    }

    /// <summary>
    /// Publishes one message whose content header carries <paramref name="propertyFlags"/> and then
    /// <paramref name="propertyBytes"/> verbatim; returns when the broker acks it (throws on nack or close).
    /// </summary>
    public async Task PublishAsync(string exchange, string routingKey, ushort propertyFlags, byte[] propertyBytes, byte[] body, CancellationToken ct)
    {
        await SendMethodAsync(1, new BasicPublish(exchange, routingKey, false, false), ct);
        byte[] header = new byte[14 + propertyBytes.Length];
        BinaryPrimitives.WriteUInt16BigEndian(header, 60);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(4), (ulong)body.Length);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(12), propertyFlags);
        propertyBytes.CopyTo(header.AsSpan(14));
        await _stream.WriteAsync(ScriptedAmqpServer.Frame(AmqpConstants.FrameHeader, 1, header), ct);
        if (body.Length > 0)
        {
            await _stream.WriteAsync(ScriptedAmqpServer.Frame(AmqpConstants.FrameBody, 1, body), ct);
        }

        _published++;
        var (channel, id, payload) = await ReadMethodAsync(ct);
        if (id == MethodIds.BasicAck && channel == 1 && MethodFrame.Decode<BasicAck>(payload).DeliveryTag >= _published)
        {
            return;
        }

        throw new InvalidOperationException($"The broker answered the raw publish with {MethodNames.Name((ushort)(id >> 16), (ushort)id)} on channel {channel}: {DescribeClose(id, payload)}");
    }

    /// <summary>A header table of one entry whose value is <paramref name="encodedValue"/> (tag octet and value), as property bytes.</summary>
    public static byte[] HeadersWith(string key, byte[] encodedValue)
    {
        byte[] keyBytes = Encoding.UTF8.GetBytes(key);
        byte[] table = new byte[4 + 1 + keyBytes.Length + encodedValue.Length];
        BinaryPrimitives.WriteUInt32BigEndian(table, (uint)(table.Length - 4));
        table[4] = (byte)keyBytes.Length;
        keyBytes.CopyTo(table.AsSpan(5));
        encodedValue.CopyTo(table.AsSpan(5 + keyBytes.Length));
        return table;
    }

    private static string DescribeClose(uint id, byte[] payload) => id switch
    {
        MethodIds.ChannelClose => MethodFrame.Decode<ChannelClose>(payload).ReplyText,
        MethodIds.ConnectionClose => MethodFrame.Decode<ConnectionClose>(payload).ReplyText,
        _ => "unexpected",
    };

    private async Task SendMethodAsync<T>(ushort channel, T method, CancellationToken ct) where T : struct, IAmqpMethod<T>
    {
        byte[] buffer = new byte[FrameWriter.MethodFrameSize(method)];
        int n = FrameWriter.WriteMethodFrame(buffer, channel, method);
        await _stream.WriteAsync(buffer.AsMemory(0, n), ct);
    }

    private async Task<byte[]> ExpectMethodAsync(ushort expectedChannel, uint expectedId, CancellationToken ct)
    {
        var (channel, id, payload) = await ReadMethodAsync(ct);
        if (channel != expectedChannel || id != expectedId)
        {
            throw new InvalidOperationException($"Expected {MethodNames.Name((ushort)(expectedId >> 16), (ushort)expectedId)}, got {MethodNames.Name((ushort)(id >> 16), (ushort)id)} on channel {channel}: {DescribeClose(id, payload)}");
        }

        return payload;
    }

    private async Task<(ushort Channel, uint Id, byte[] Payload)> ReadMethodAsync(CancellationToken ct)
    {
        while (true)
        {
            byte[] header = new byte[AmqpConstants.FrameHeaderSize];
            await _stream.ReadExactlyAsync(header, ct);
            uint size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(3));
            byte[] rest = new byte[size + 1];
            await _stream.ReadExactlyAsync(rest, ct);
            if (header[0] != AmqpConstants.FrameMethod)
            {
                continue;
            }

            var (classId, methodId) = MethodFrame.ReadIds(rest.AsSpan(0, (int)size));
            return (BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(1)), ((uint)classId << 16) | methodId, rest[..^1]);
        }
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
