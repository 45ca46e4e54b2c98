using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Nucleon.Pipes.Transport;

/// <summary>
/// The send loop's own send operation on a plain TCP socket, which lets go of the buffers once a send is done.
/// The socket's cached send arguments (behind <see cref="NetworkStream"/> and <see cref="Socket.SendAsync(IList{ArraySegment{byte}})"/>)
/// keep the last buffer they sent: a 64 KiB segment of the output pipe, already back in the pool, that an idle
/// connection then kept alive for as long as it stayed idle. One instance per connection, used by one send at a time.
/// </summary>
internal sealed class SocketSender : SocketAsyncEventArgs, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _completion;

    public SocketSender() : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    /// <summary>Sends <paramref name="buffer"/> (all of it: a stream socket's send completes when every byte is handed over).</summary>
    public ValueTask SendAsync(Socket socket, ReadOnlyMemory<byte> buffer)
    {
        SetBuffer(MemoryMarshal.AsMemory(buffer));
        return Start(socket);
    }

    /// <summary>Sends the segments of <paramref name="buffers"/> in one gathered send.</summary>
    public ValueTask SendAsync(Socket socket, IList<ArraySegment<byte>> buffers)
    {
        BufferList = buffers;
        return Start(socket);
    }

    private ValueTask Start(Socket socket)
    {
        _completion.Reset();
        bool pending;
        try
        {
            pending = socket.SendAsync(this);
        }
        catch
        {
            Forget();
            throw;
        }

        if (pending)
        {
            return new ValueTask(this, _completion.Version);
        }

        Finish();
        return default;
    }

    protected override void OnCompleted(SocketAsyncEventArgs e) => _completion.SetResult(true);

    void IValueTaskSource.GetResult(short token)
    {
        _completion.GetResult(token);
        Finish();
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);

    private void Finish()
    {
        var error = SocketError;
        Forget();
        if (error != SocketError.Success)
        {
            throw new SocketException((int)error);
        }
    }

    // Drops the references to the sent buffers (the whole point of this class).
    private void Forget()
    {
        if (BufferList is not null)
        {
            BufferList = null;
        }
        else
        {
            SetBuffer(Memory<byte>.Empty);
        }
    }
}
