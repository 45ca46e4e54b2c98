using Nucleon.Pipes.Channels;

namespace Nucleon.Pipes.Connection;

/// <summary>
/// The channels of one connection by number. Numbers are handed out round-robin from 1 to channel_max
/// (a just-freed number is reused last); the reader looks channels up without a lock; once the table is
/// closed (the connection is going) no channel is added, so every channel ever added is in the snapshot
/// <see cref="CloseAll"/> returns.
/// </summary>
internal sealed class ChannelTable
{
    // The table is empty until the first channel, then starts small and doubles up to channel_max + 1, so an idle
    // connection carries no slots at all; the reader sees a grown table from its next frame on.
    private const int InitialSize = 32;
    private readonly object _lock = new();
    private ChannelCore?[] _channels = [];
    private ushort _channelMax;
    private int _next = 1;
    private int _count;
    private bool _closed;
    private TaskCompletionSource? _available; // under _lock; created by the first renter that waits for a channel

    /// <summary>Sizes the table for the negotiated channel_max (once, before any channel exists).</summary>
    public void Initialize(ushort channelMax) => _channelMax = channelMax;

    /// <summary>Channels currently holding a number.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>Completes the next time a number is freed or a channel goes back to a pool (or the table is closed).</summary>
    public Task Available
    {
        get
        {
            lock (_lock)
            {
                _available ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return _available.Task;
            }
        }
    }

    /// <summary>The channel holding <paramref name="number"/>, or null (lock-free: for the reader).</summary>
    public ChannelCore? Find(ushort number)
    {
        var table = Volatile.Read(ref _channels);
        return number < table.Length ? Volatile.Read(ref table[number]) : null;
    }

    /// <summary>Every channel in the table now (for the reader's clean-up).</summary>
    public ChannelCore?[] Snapshot() => Volatile.Read(ref _channels);

    /// <summary>
    /// Creates a channel on the first free number; null when every number is in use. Throws
    /// <see cref="AmqpConnectionLostException"/> once <paramref name="isOpen"/> is false or the table is closed
    /// (checked under the table's lock, so no channel slips in behind <see cref="CloseAll"/>).
    /// </summary>
    public ChannelCore? TryCreate(ConnectionSession session, ChannelOptions options, Func<ConnectionSession, bool> isOpen)
    {
        lock (_lock)
        {
            if (_closed || !isOpen(session))
            {
                throw new AmqpConnectionLostException("The connection is closed; wait for the next connection.");
            }

            for (int i = 0; i < _channelMax; i++)
            {
                int n = ((_next - 1 + i) % _channelMax) + 1;
                if (n >= _channels.Length)
                {
                    Grow(n);
                }

                if (_channels[n] is null)
                {
                    var core = new ChannelCore(session, (ushort)n, options);
                    _channels[n] = core;
                    _next = n + 1;
                    _count++;
                    return core;
                }
            }
        }

        return null;
    }

    /// <summary>Frees <paramref name="channel"/>'s number (if it still holds it) and wakes waiting renters.</summary>
    public void Release(ChannelCore channel)
    {
        lock (_lock)
        {
            if (channel.Number < _channels.Length && _channels[channel.Number] == channel)
            {
                _channels[channel.Number] = null;
                _count--;
            }
        }

        SignalAvailable();
    }

    /// <summary>Wakes renters waiting in <see cref="Available"/>.</summary>
    public void SignalAvailable()
    {
        TaskCompletionSource? signal;
        lock (_lock)
        {
            // Nobody took the current one yet, so nobody waits on it: the next waiter gets a fresh one anyway.
            signal = _available;
            _available = null;
        }

        signal?.TrySetResult();
    }

    /// <summary>Closes the table: empties it, refuses new channels from now on, and returns what it held (the caller then signals <see cref="Available"/>).</summary>
    public ChannelCore?[] CloseAll()
    {
        ChannelCore?[] channels;
        lock (_lock)
        {
            _closed = true;
            channels = _channels;
            Volatile.Write(ref _channels, new ChannelCore?[channels.Length]);
            _count = 0;
        }

        return channels;
    }

    private void Grow(int number)
    {
        var old = _channels;
        var grown = new ChannelCore?[Math.Min(_channelMax + 1, Math.Max(number + 1, Math.Max(InitialSize, old.Length * 2)))];
        Array.Copy(old, grown, old.Length);
        Volatile.Write(ref _channels, grown);
    }
}
