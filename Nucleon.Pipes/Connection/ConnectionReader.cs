using System.Buffers;
using System.IO.Pipelines;
using Nucleon.Pipes.Channels;
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
                    while (!_stopReading && !session.IsAborted && FrameReader.TryReadFrame(ref buffer, frameMax, out var frame))
                    {
                        var pending = HandleFrame(frame);
                        if (!pending.IsCompletedSuccessfully)
                        {
                            await pending.ConfigureAwait(false);
                        }
                    }
                }
                finally
                {
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

    private ValueTask HandleFrame(in RawFrame frame)
    {
        switch (frame.Type)
        {
            case AmqpConstants.FrameHeartbeat:
                if (frame.Channel != 0)
                {
                    throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"A heartbeat frame arrived on channel {frame.Channel}; heartbeats belong to channel 0.");
                }

                return ValueTask.CompletedTask;

            case AmqpConstants.FrameMethod:
            {
                var payload = Contiguous(frame.Payload);
                var (classId, methodId) = MethodFrame.ReadIds(payload);
                uint id = ((uint)classId << 16) | methodId;
                if (frame.Channel == 0)
                {
                    HandleConnectionMethod(id, payload);
                    return ValueTask.CompletedTask;
                }

                var channel = channels.Find(frame.Channel);
                if (channel is null)
                {
                    if (id == MethodIds.ChannelCloseOk)
                    {
                        // Both sides closed at once and we already released the number: nothing to do.
                        return ValueTask.CompletedTask;
                    }

                    throw new AmqpProtocolException(AmqpReplyCode.ChannelError, $"{MethodNames.Name(classId, methodId)} arrived on channel {frame.Channel}, which is not open.");
                }

                var delivery = channel.HandleMethod(id, payload);
                return delivery is null ? ValueTask.CompletedTask : channel.DispatchAsync(delivery);
            }

            case AmqpConstants.FrameHeader:
            {
                var channel = ContentChannel(frame.Channel, "content header");
                var delivery = channel.HandleHeader(Contiguous(frame.Payload));
                return delivery is null ? ValueTask.CompletedTask : channel.DispatchAsync(delivery);
            }

            case AmqpConstants.FrameBody:
            {
                var channel = ContentChannel(frame.Channel, "body");
                var delivery = channel.HandleBody(frame.Payload);
                return delivery is null ? ValueTask.CompletedTask : channel.DispatchAsync(delivery);
            }

            default:
                throw new AmqpProtocolException(AmqpReplyCode.FrameError, $"Unknown frame type {frame.Type}.");
        }
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
