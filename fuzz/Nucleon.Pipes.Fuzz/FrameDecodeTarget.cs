using System.Buffers;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Fuzzing;

/// <summary>
/// The decoder surface a peer can reach with bytes: frames cut by <see cref="FrameReader"/>, then method
/// arguments, content headers (basic properties and header tables) and field tables. Shared by the SharpFuzz
/// harness (fuzz/Nucleon.Pipes.Fuzz) and the property-based tests, which both require that any input ends in
/// a decoded value or an <see cref="AmqpProtocolException"/>, and nothing else.
/// </summary>
internal static class FrameDecodeTarget
{
    public const uint FrameMax = 131_072;

    /// <summary>Decodes every complete frame in <paramref name="bytes"/>; returns the number of frames decoded.</summary>
    public static int DecodeFrames(ReadOnlySpan<byte> bytes)
    {
        var buffer = new ReadOnlySequence<byte>(bytes.ToArray());
        int frames = 0;
        while (FrameReader.TryReadFrame(ref buffer, FrameMax, out var frame))
        {
            frames++;
            byte[] payload = frame.Payload.ToArray();
            switch (frame.Type)
            {
                case AmqpConstants.FrameMethod:
                    DecodeMethod(payload);
                    break;
                case AmqpConstants.FrameHeader:
                    ContentHeader.Read(payload);
                    break;
            }
        }

        return frames;
    }

    /// <summary>Decodes a method-frame payload (ids then arguments) as the method its ids name; unknown ids are ignored.</summary>
    public static void DecodeMethod(ReadOnlySpan<byte> payload)
    {
        var (classId, methodId) = MethodFrame.ReadIds(payload);
        switch (MethodIds.Key(classId, methodId))
        {
            case MethodIds.ConnectionStart: MethodFrame.Decode<ConnectionStart>(payload); break;
            case MethodIds.ConnectionStartOk: MethodFrame.Decode<ConnectionStartOk>(payload); break;
            case MethodIds.ConnectionSecure: MethodFrame.Decode<ConnectionSecure>(payload); break;
            case MethodIds.ConnectionSecureOk: MethodFrame.Decode<ConnectionSecureOk>(payload); break;
            case MethodIds.ConnectionTune: MethodFrame.Decode<ConnectionTune>(payload); break;
            case MethodIds.ConnectionTuneOk: MethodFrame.Decode<ConnectionTuneOk>(payload); break;
            case MethodIds.ConnectionOpen: MethodFrame.Decode<ConnectionOpen>(payload); break;
            case MethodIds.ConnectionOpenOk: MethodFrame.Decode<ConnectionOpenOk>(payload); break;
            case MethodIds.ConnectionClose: MethodFrame.Decode<ConnectionClose>(payload); break;
            case MethodIds.ConnectionCloseOk: MethodFrame.Decode<ConnectionCloseOk>(payload); break;
            case MethodIds.ConnectionBlocked: MethodFrame.Decode<ConnectionBlocked>(payload); break;
            case MethodIds.ConnectionUnblocked: MethodFrame.Decode<ConnectionUnblocked>(payload); break;
            case MethodIds.ConnectionUpdateSecret: MethodFrame.Decode<ConnectionUpdateSecret>(payload); break;
            case MethodIds.ConnectionUpdateSecretOk: MethodFrame.Decode<ConnectionUpdateSecretOk>(payload); break;
            case MethodIds.ChannelOpen: MethodFrame.Decode<ChannelOpen>(payload); break;
            case MethodIds.ChannelOpenOk: MethodFrame.Decode<ChannelOpenOk>(payload); break;
            case MethodIds.ChannelFlow: MethodFrame.Decode<ChannelFlow>(payload); break;
            case MethodIds.ChannelFlowOk: MethodFrame.Decode<ChannelFlowOk>(payload); break;
            case MethodIds.ChannelClose: MethodFrame.Decode<ChannelClose>(payload); break;
            case MethodIds.ChannelCloseOk: MethodFrame.Decode<ChannelCloseOk>(payload); break;
            case MethodIds.ExchangeDeclare: MethodFrame.Decode<ExchangeDeclare>(payload); break;
            case MethodIds.ExchangeDeclareOk: MethodFrame.Decode<ExchangeDeclareOk>(payload); break;
            case MethodIds.ExchangeDelete: MethodFrame.Decode<ExchangeDelete>(payload); break;
            case MethodIds.ExchangeDeleteOk: MethodFrame.Decode<ExchangeDeleteOk>(payload); break;
            case MethodIds.ExchangeBind: MethodFrame.Decode<ExchangeBind>(payload); break;
            case MethodIds.ExchangeBindOk: MethodFrame.Decode<ExchangeBindOk>(payload); break;
            case MethodIds.ExchangeUnbind: MethodFrame.Decode<ExchangeUnbind>(payload); break;
            case MethodIds.ExchangeUnbindOk: MethodFrame.Decode<ExchangeUnbindOk>(payload); break;
            case MethodIds.QueueDeclare: MethodFrame.Decode<QueueDeclare>(payload); break;
            case MethodIds.QueueDeclareOk: MethodFrame.Decode<QueueDeclareOk>(payload); break;
            case MethodIds.QueueBind: MethodFrame.Decode<QueueBind>(payload); break;
            case MethodIds.QueueBindOk: MethodFrame.Decode<QueueBindOk>(payload); break;
            case MethodIds.QueuePurge: MethodFrame.Decode<QueuePurge>(payload); break;
            case MethodIds.QueuePurgeOk: MethodFrame.Decode<QueuePurgeOk>(payload); break;
            case MethodIds.QueueDelete: MethodFrame.Decode<QueueDelete>(payload); break;
            case MethodIds.QueueDeleteOk: MethodFrame.Decode<QueueDeleteOk>(payload); break;
            case MethodIds.QueueUnbind: MethodFrame.Decode<QueueUnbind>(payload); break;
            case MethodIds.QueueUnbindOk: MethodFrame.Decode<QueueUnbindOk>(payload); break;
            case MethodIds.BasicQos: MethodFrame.Decode<BasicQos>(payload); break;
            case MethodIds.BasicQosOk: MethodFrame.Decode<BasicQosOk>(payload); break;
            case MethodIds.BasicConsume: MethodFrame.Decode<BasicConsume>(payload); break;
            case MethodIds.BasicConsumeOk: MethodFrame.Decode<BasicConsumeOk>(payload); break;
            case MethodIds.BasicCancel: MethodFrame.Decode<BasicCancel>(payload); break;
            case MethodIds.BasicCancelOk: MethodFrame.Decode<BasicCancelOk>(payload); break;
            case MethodIds.BasicPublish: MethodFrame.Decode<BasicPublish>(payload); break;
            case MethodIds.BasicReturn: MethodFrame.Decode<BasicReturn>(payload); break;
            case MethodIds.BasicDeliver: MethodFrame.Decode<BasicDeliver>(payload); break;
            case MethodIds.BasicGet: MethodFrame.Decode<BasicGet>(payload); break;
            case MethodIds.BasicGetOk: MethodFrame.Decode<BasicGetOk>(payload); break;
            case MethodIds.BasicGetEmpty: MethodFrame.Decode<BasicGetEmpty>(payload); break;
            case MethodIds.BasicAck: MethodFrame.Decode<BasicAck>(payload); break;
            case MethodIds.BasicReject: MethodFrame.Decode<BasicReject>(payload); break;
            case MethodIds.BasicRecoverAsync: MethodFrame.Decode<BasicRecoverAsync>(payload); break;
            case MethodIds.BasicRecover: MethodFrame.Decode<BasicRecover>(payload); break;
            case MethodIds.BasicRecoverOk: MethodFrame.Decode<BasicRecoverOk>(payload); break;
            case MethodIds.BasicNack: MethodFrame.Decode<BasicNack>(payload); break;
            case MethodIds.ConfirmSelect: MethodFrame.Decode<ConfirmSelect>(payload); break;
            case MethodIds.ConfirmSelectOk: MethodFrame.Decode<ConfirmSelectOk>(payload); break;
            case MethodIds.TxSelect: MethodFrame.Decode<TxSelect>(payload); break;
            case MethodIds.TxSelectOk: MethodFrame.Decode<TxSelectOk>(payload); break;
            case MethodIds.TxCommit: MethodFrame.Decode<TxCommit>(payload); break;
            case MethodIds.TxCommitOk: MethodFrame.Decode<TxCommitOk>(payload); break;
            case MethodIds.TxRollback: MethodFrame.Decode<TxRollback>(payload); break;
            case MethodIds.TxRollbackOk: MethodFrame.Decode<TxRollbackOk>(payload); break;
        }
    }

    /// <summary>Decodes a field table (with its 32-bit length).</summary>
    public static void DecodeTable(ReadOnlySpan<byte> bytes)
    {
        var decoder = new AmqpDecoder(bytes);
        FieldTableCodec.Read(ref decoder, depth: 0);
    }

    /// <summary>Decodes basic property flags and list.</summary>
    public static void DecodeProperties(ReadOnlySpan<byte> bytes)
    {
        var decoder = new AmqpDecoder(bytes);
        BasicPropertiesCodec.Read(ref decoder);
    }

    /// <summary>All of the above on the same input, as the fuzzer's single entry point.</summary>
    public static void DecodeAll(ReadOnlySpan<byte> bytes)
    {
        Run(bytes, static b => DecodeFrames(b));
        if (bytes.Length >= 4)
        {
            Run(bytes, static b => DecodeMethod(b));
        }

        Run(bytes, static b => DecodeTable(b));
        Run(bytes, static b => DecodeProperties(b));
        Run(bytes, static b => ContentHeader.Read(b));
    }

    private delegate void SpanAction(ReadOnlySpan<byte> bytes);

    private static void Run(ReadOnlySpan<byte> bytes, SpanAction decode)
    {
        try
        {
            decode(bytes);
        }
        catch (AmqpProtocolException)
        {
            // Refusing malformed input is the expected outcome.
        }
    }
}
