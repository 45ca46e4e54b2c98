namespace Nucleon.Pipes;

/// <summary>
/// What the client and the broker agreed on in connection.tune for the current connection (each side's
/// lower limit; see <see cref="AmqpConnectionOptions"/> for what the client asks for).
/// </summary>
/// <param name="Heartbeat">The heartbeat interval; <see cref="TimeSpan.Zero"/> when heartbeats are off.</param>
/// <param name="FrameMax">The largest frame in bytes, header and end included; 0 means no limit.</param>
/// <param name="ChannelMax">The highest channel number that may be used.</param>
public sealed record AmqpTuning(TimeSpan Heartbeat, uint FrameMax, ushort ChannelMax);
