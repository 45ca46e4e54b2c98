namespace Nucleon.Pipes.Connection;

/// <summary>Every channel number of the connection (its negotiated channel_max) is in use. Pool renters wait instead.</summary>
internal sealed class ChannelsExhaustedException(ushort channelMax)
    : AmqpException($"All {channelMax} channels of this connection (the negotiated channel_max) are in use.");
