using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>An 8-byte outbound command that carries who queued it and its sequence number, to check order where it arrives.</summary>
internal static class TaggedCommand
{
    public const int Size = 8;

    public static OutboundCommand Create(int source, int seq)
    {
        var buffer = OutboundCommand.Rent(Size);
        BitConverter.TryWriteBytes(buffer.AsSpan(0, 4), source);
        BitConverter.TryWriteBytes(buffer.AsSpan(4, 4), seq);
        return new OutboundCommand(buffer, Size);
    }

    public static (int Source, int Seq) Read(ReadOnlySpan<byte> bytes) =>
        (BitConverter.ToInt32(bytes[..4]), BitConverter.ToInt32(bytes[4..Size]));
}
