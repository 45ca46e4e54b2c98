using System.Buffers;
using System.IO.Pipelines;
using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Consumers;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// The single reader task of a connection: parses frames straight out of the PipeReader's buffer and
/// routes them (channel 0 to the session, others to their channel). It never waits for a consume loop
/// (dispatch hands deliveries over synchronously). It is the PipeReader's only user and completes it.
/// </summary>
internal sealed class ConnectionReader(ConnectionSession session, PipeReader input, ChannelTable channels, uint frameMax, HeartbeatMonitor? heartbeats)
{
    private volatile bool _stopReading;
    private Exception? _serverClose;
    private byte[] _scratch = [];

    // Consume loops that were handed deliveries since the last wake-up: each is woken once per receive
    // buffer (or per WakeEvery deliveries), not once per delivery.
    private readonly List<DeliveryInbox> _toWake = [];
    private int _appended;
    private const int WakeEvery = 256;

    /// <summary>Reads and routes frames until the connection ends, then aborts the session with the reason.</summary>
    public async Task RunAsync()
    {
        Exception? failure = null;
        try
        {
            while (!_stopReading)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                heartbeats?.NoteRead();
                var buffer = result.Buffer;
                try
                {
                    ReadFrames(ref buffer);
                }
                finally
                {
                    WakeConsumers();
                    session.CountReceived(result.Buffer.Length - buffer.Length);
                    // This task owns the PipeReader (Abort only cancels the pending read), so this is always legal.
                    input.AdvanceTo(buffer.Start, buffer.End);
                }

                if (_stopReading || session.IsAborted)
                {
                    break;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    failure = new AmqpConnectionLostException($"The broker at {session.Endpoint} closed the TCP connection.");
                    break;
                }
            }

            failure ??= _serverClose;
        }
        catch (AmqpProtocolException ex)
        {
            // Malformed input: tell the broker why (connection.close with the reply code), then drop the socket.
            failure = ex;
            Diagnostics.Logging.ProtocolLog.MalformedFrame(session.Owner.Loggers.Connection, session.Endpoint, session.Generation, ex.ReplyCode, ex.ReplyText);
            await session.SendFinalCloseAsync(ex.ReplyCode, ex.ReplyText).ConfigureAwait(false);
        }
        catch (Exception ex) when (!session.IsAborted)
        {
            failure = new AmqpConnectionLostException($"Reading from {session.Endpoint} failed: {ex.Message}", ex);
        }
        catch (Exception)
        {
            // Aborted meanwhile: the reason is already recorded.
        }
        finally
        {
            foreach (var channel in channels.Snapshot())
            {
                channel?.AbandonContent();
            }

            // The reader is the PipeReader's only user, so it alone completes it, once no frame refers to its buffer.
            await input.CompleteAsync().ConfigureAwait(false);
        }

        if (_serverClose is not null)
        {
            // Let close-ok reach the broker before the socket goes.
            await session.WaitFinalWrittenAsync().ConfigureAwait(false);
        }

        session.Abort(failure);
    }

    // Routes every complete frame in the buffer and slices them off: frames that lie wholly inside the
    // first segment straight from its span (no sequence slicing per frame), one that straddles segments
    // through the sequence.
    private void ReadFrames(ref ReadOnlySequence<byte> buffer)
    {
        while (!_stopReading && !session.IsAborted)
        {
            var span = buffer.FirstSpan;
            int used = 0;
            while (FrameReader.TryReadFrame(span[used..], frameMax, out byte type, out ushort number, out var payload, out int length))
            {
                used += length;
                HandleFrame(type, number, payload);
                if (_stopReading || session.IsAborted)
                {
                    break;
                }
            }

            if (used > 0)
            {
                buffer = buffer.Slice(used);
                continue;
            }

            if (!FrameReader.TryReadFrame(ref buffer, frameMax, out var frame))
            {
                return;
            }

            if (frame.Type == AmqpConstants.FrameBody && !frame.Payload.IsSingleSegment)
            {
                // A large body frame spans segments: copied once, into the message's body.
                var channel = ContentChannel(frame.Channel, "body");
                Dispatch(channel, channel.HandleBody(frame.Payload));
            }
            else
            {
                HandleFrame(frame.Type, frame.Channel, Contiguous(frame.Payload));
            }
        }
    }

    private void HandleFrame(byte type, ushort number, ReadOnlySpan<byte> payload)
    {
        switch (type)
        {
            case AmqpConstants.FrameHeartbeat:
                if (number != 0)
                {
                    throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"A heartbeat frame arrived on channel {number}; heartbeats belong to channel 0.");
                }

                return;

            case AmqpConstants.FrameMethod:
            {
                var (classId, methodId) = MethodFrame.ReadIds(payload);
                uint id = ((uint)classId << 16) | methodId;
                if (number == 0)
                {
                    HandleConnectionMethod(id, payload);
                    return;
                }

                var channel = channels.Find(number);
                if (channel is null)
                {
                    if (id == MethodIds.ChannelCloseOk)
                    {
                        // Both sides closed at once and we already released the number: nothing to do.
                        return;
                    }

                    throw new AmqpProtocolException(AmqpReplyCode.ChannelError, $"{MethodNames.Name(classId, methodId)} arrived on channel {number}, which is not open.");
                }

                Dispatch(channel, channel.HandleMethod(id, payload));
                return;
            }

            case AmqpConstants.FrameHeader:
            {
                var channel = ContentChannel(number, "content header");
                Dispatch(channel, channel.HandleHeader(payload));
                return;
            }

            case AmqpConstants.FrameBody:
            {
                var channel = ContentChannel(number, "body");
                Dispatch(channel, channel.HandleBody(payload));
                return;
            }

            default:
                throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"Unknown frame type {type}.");
        }
    }

    private void Dispatch(ChannelCore channel, Delivery? delivery)
    {
        if (delivery is null || channel.Dispatch(delivery) is not { } inbox)
        {
            return;
        }

        if (!inbox.WakeQueued)
        {
            inbox.WakeQueued = true;
            _toWake.Add(inbox);
        }

        if (++_appended >= WakeEvery)
        {
            // A large receive buffer: let a parked consume loop start on what is there.
            WakeConsumers();
        }
    }

    private void WakeConsumers()
    {
        foreach (var inbox in _toWake)
        {
            inbox.WakeQueued = false;
            inbox.WakeReader();
        }

        _toWake.Clear();
        _appended = 0;
    }

    private ChannelCore ContentChannel(ushort number, string what) =>
        number != 0 && channels.Find(number) is { } channel
            ? channel
            : throw new AmqpProtocolException(number == 0 ? AmqpReplyCode.UnexpectedFrame : AmqpReplyCode.ChannelError, $"A {what} frame arrived on channel {number}, which is not an open channel.");

    private void HandleConnectionMethod(uint id, ReadOnlySpan<byte> payload)
    {
        switch (id)
        {
            case MethodIds.ConnectionClose:
            {
                var close = MethodFrame.Decode<ConnectionClose>(payload);
                _serverClose = new AmqpConnectionException(close.ReplyCode, close.ReplyText, close.FailingClassId, close.FailingMethodId);
                _stopReading = true;
                // Answer close-ok; the socket is dropped once it is flushed (or after a short wait).
                session.TryEnqueueFinal(new ConnectionCloseOk());
                break;
            }

            case MethodIds.ConnectionCloseOk:
                session.OnCloseOk();
                _stopReading = true;
                break;
            case MethodIds.ConnectionBlocked:
                session.SetBlocked(MethodFrame.Decode<ConnectionBlocked>(payload).Reason);
                break;
            case MethodIds.ConnectionUnblocked:
                session.SetBlocked(null);
                break;
            case MethodIds.ConnectionUpdateSecretOk:
                session.OnUpdateSecretOk();
                break;
            default:
                throw new AmqpProtocolException(AmqpReplyCode.CommandInvalid, $"Unexpected {MethodNames.Name((ushort)(id >> 16), (ushort)id)} on channel 0 after the handshake.");
        }
    }

    private ReadOnlySpan<byte> Contiguous(in ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return payload.FirstSpan;
        }

        if (_scratch.Length < payload.Length)
        {
            _scratch = new byte[Math.Max((int)payload.Length, 4096)];
        }

        payload.CopyTo(_scratch);
        return _scratch.AsSpan(0, (int)payload.Length);
    }
}
