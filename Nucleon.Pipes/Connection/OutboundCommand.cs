using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// One AMQP command (a method frame, optionally followed by its content header and body frames),
/// already encoded by the caller into a buffer rented from <see cref="BufferPool"/>.
/// The writer copies it to the socket and returns the buffer; whoever drops a command unwritten
/// must call <see cref="Release"/>. A large publish carries its body by reference in a
/// <see cref="BodyLease"/>: the buffer then holds only the method and header frames, and the writer
/// frames the body itself.
/// </summary>
internal readonly struct OutboundCommand
{
    public OutboundCommand(byte[] buffer, int length, OutboundKind kind = OutboundKind.Normal)
    {
        Buffer = buffer;
        Length = length;
        Kind = kind;
    }

    public OutboundCommand(byte[] buffer, int length, BodyLease lease)
    {
        Buffer = buffer;
        Length = length;
        Kind = OutboundKind.Normal;
        Lease = lease;
    }

    /// <summary>The body sent by reference after <see cref="Buffer"/>'s frames, or null.</summary>
    public BodyLease? Lease { get; }

    public byte[] Buffer { get; }

    public int Length { get; }

    public OutboundKind Kind { get; }

    /// <summary>Returns the buffer and, for a body sent by reference, tells the publisher its body is free.</summary>
    public void Release()
    {
        BufferPool.Return(Buffer);
        Lease?.Done();
    }

    /// <summary>Rents a buffer of at least <paramref name="size"/> bytes for a command.</summary>
    public static byte[] Rent(int size) => BufferPool.Rent(size);

    /// <summary>Encodes one method frame into a rented buffer.</summary>
    public static OutboundCommand ForMethod<T>(ushort channel, in T method, OutboundKind kind = OutboundKind.Normal)
        where T : struct, IAmqpMethod<T>
    {
        byte[] buffer = Rent(FrameWriter.MethodFrameSize(method));
        int n = FrameWriter.WriteMethodFrame(buffer, channel, method);
        return new OutboundCommand(buffer, n, kind);
    }
}
