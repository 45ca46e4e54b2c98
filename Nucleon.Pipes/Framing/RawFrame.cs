using System.Buffers;
using System.Buffers.Binary;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Framing;

/// <summary>
/// One frame cut out of the receive buffer. <see cref="Payload"/> is a slice of that buffer, not a copy:
/// it is only valid until the reader that owns the buffer advances past it.
/// </summary>
internal readonly struct RawFrame
{
    public RawFrame(byte type, ushort channel, ReadOnlySequence<byte> payload)
    {
        Type = type;
        Channel = channel;
        Payload = payload;
    }

    /// <summary>1 method, 2 content header, 3 body, 8 heartbeat (see <see cref="AmqpConstants"/>).</summary>
    public byte Type { get; }

    public ushort Channel { get; }

    /// <summary>The payload without the 7-byte header and the frame-end octet.</summary>
    public ReadOnlySequence<byte> Payload { get; }
}
