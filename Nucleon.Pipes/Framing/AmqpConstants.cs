namespace Nucleon.Pipes.Framing;

/// <summary>Wire constants of AMQP 0-9-1 (spec section 4.2.3 and RabbitMQ's errata).</summary>
internal static class AmqpConstants
{
    public const byte FrameMethod = 1;
    public const byte FrameHeader = 2;
    public const byte FrameBody = 3;
    public const byte FrameHeartbeat = 8;
    public const byte FrameEnd = 0xCE;

    /// <summary>type (1) + channel (2) + size (4).</summary>
    public const int FrameHeaderSize = 7;

    /// <summary>Header plus the frame-end octet: what a frame costs besides its payload.</summary>
    public const int FrameOverhead = 8;

    /// <summary>The smallest frame_max a peer may negotiate (spec 4.2.1).</summary>
    public const int FrameMinSize = 4096;

    /// <summary>"AMQP" 0 0 9 1.</summary>
    public static ReadOnlySpan<byte> ProtocolHeader => "AMQP\0\0\u0009\u0001"u8;
}
