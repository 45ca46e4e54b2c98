namespace Nucleon.Pipes.Consumers;

/// <summary>What <see cref="MessageProcessor"/> needs to know of this library's own consumer streams.</summary>
internal interface IConsumerMessageStream
{
    /// <summary>How the stream subscribes.</summary>
    ConsumeOptions Options { get; }

    /// <summary>Set before enumerating: auto-ack messages are recycled by the caller (<see cref="ConsumerStream.Release"/>), not by the next step.</summary>
    bool KeepAutoAckMessages { set; }
}
