using System.Buffers;
using Nucleon.Pipes.Channels;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Connection;

// The single reader task: parses frames straight out of the PipeReader's buffer and routes them.
// Only a full consumer inbox makes it wait; everything else is handled synchronously.
internal sealed partial class ConnectionSession
{
    private volatile bool _stopReading;
    private Exception? _serverClose;

    private async Task RunReaderAsync()
    {
        Exception? failure = null;
        try
        {
            while (!_stopReading)
            {
                var result = await Input.ReadAsync().ConfigureAwait(false);
                Volatile.Write(ref _lastReadTimestamp, Options.TimeProvider.GetTimestamp());
                var buffer = result.Buffer;
                try
                {
                    while (!_stopReading && Volatile.Read(ref _aborted) == 0 && FrameReader.TryReadFrame(ref buffer, FrameMax, out var frame))
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
                    // This task owns the PipeReader (Abort only cancels the pending read), so this is always legal.
                    Input.AdvanceTo(buffer.Start, buffer.End);
                }

                if (_stopReading || Volatile.Read(ref _aborted) != 0)
                {
                    break;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    failure = new AmqpConnectionLostException($"The broker at {Endpoint} closed the TCP connection.");
                    break;
                }
            }

            failure ??= _serverClose;
        }
        catch (AmqpProtocolException ex)
        {
            // Malformed input: tell the broker why (connection.close with the reply code), then drop the socket.
            failure = ex;
            await SendFinalCloseAsync(ex.ReplyCode, ex.ReplyText).ConfigureAwait(false);
        }
        catch (Exception ex) when (Volatile.Read(ref _aborted) == 0)
        {
            failure = new AmqpConnectionLostException($"Reading from {Endpoint} failed: {ex.Message}", ex);
        }
        catch (Exception)
        {
            // Aborted meanwhile: the reason is already recorded.
        }
        finally
        {
            foreach (var channel in Volatile.Read(ref _channels))
            {
                channel?.AbandonContent();
            }

            // The reader is the PipeReader's only user, so it alone completes it, once no frame refers to its buffer.
            await Input.CompleteAsync().ConfigureAwait(false);
        }

        if (_serverClose is not null)
        {
            // Let close-ok reach the broker before the socket goes.
            await Task.WhenAny(_finalWritten.Task, Task.Delay(TimeSpan.FromSeconds(1), Options.TimeProvider)).ConfigureAwait(false);
        }

        Abort(failure);
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

                var channel = Channel(frame.Channel);
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
        number != 0 && Channel(number) is { } channel
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
                TryEnqueueFinal(new ConnectionCloseOk());
                break;
            }

            case MethodIds.ConnectionCloseOk:
                _closeOkReceived.TrySetResult();
                _stopReading = true;
                break;
            case MethodIds.ConnectionBlocked:
                SetBlocked(MethodFrame.Decode<ConnectionBlocked>(payload).Reason);
                break;
            case MethodIds.ConnectionUnblocked:
                SetBlocked(null);
                break;
            case MethodIds.ConnectionUpdateSecretOk:
                break;
            default:
                throw new AmqpProtocolException(AmqpReplyCode.CommandInvalid, $"Unexpected {MethodNames.Name((ushort)(id >> 16), (ushort)id)} on channel 0 after the handshake.");
        }
    }

    private async Task SendFinalCloseAsync(ushort replyCode, string replyText)
    {
        var close = new ConnectionClose(replyCode, replyText.Length > 200 ? replyText[..200] : replyText, 0, 0);
        if (TryEnqueueFinal(close))
        {
            await Task.WhenAny(_finalWritten.Task, Task.Delay(TimeSpan.FromSeconds(1), Options.TimeProvider)).ConfigureAwait(false);
        }
    }

    /// <summary>Queues connection.close or close-ok on the control lane as the last thing the writer sends.</summary>
    private bool TryEnqueueFinal<T>(in T method) where T : struct, IAmqpMethod<T>
    {
        var command = OutboundCommand.ForMethod(0, method, OutboundKind.ConnectionFinal);
        if (Writer.Control.TryEnqueue(command))
        {
            return true;
        }

        command.Release();
        return false;
    }
}
