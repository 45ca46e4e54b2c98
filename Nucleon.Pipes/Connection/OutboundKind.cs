using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Connection;

/// <summary>What the writer does after writing a command.</summary>
internal enum OutboundKind : byte
{
    /// <summary>Nothing special.</summary>
    Normal,

    /// <summary>channel.close-ok answering the broker: afterwards the channel number may be reused.</summary>
    ChannelCloseOk,

    /// <summary>connection.close or connection.close-ok: flush, then stop writing for good.</summary>
    ConnectionFinal,
}
