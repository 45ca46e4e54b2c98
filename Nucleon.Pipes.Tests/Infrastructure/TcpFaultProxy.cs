using System.Net;
using System.Net.Sockets;

namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy for fault tests. Clients connect to 127.0.0.1:<see cref="Port"/>; each gets
/// its own connection to the target and two pumps (client→target, target→client). Faults:
/// <see cref="Stall"/>/<see cref="Resume"/> hold and release bytes in both directions with the
/// sockets kept open, <see cref="CutAll"/> resets every current connection pair, and
/// <see cref="RefuseNew"/> accepts and immediately closes new clients.
/// </summary>
public sealed class TcpFaultProxy : IAsyncDisposable
{
    private static readonly TimeSpan DisposeBound = TimeSpan.FromSeconds(5);

    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly object _lock = new();
    private readonly HashSet<Pair> _pairs = [];
    private readonly List<Task> _handlers = [];

    // Completed while bytes flow; replaced by a pending one while stalled.
    private TaskCompletionSource _flowing = NewCompleted();
    private Task? _acceptLoop;
    private long _bytesUpstream;
    private long _bytesDownstream;
    private volatile bool _refuseNew;
    private int _disposed;

    public TcpFaultProxy(string targetHost, int targetPort)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetHost);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetPort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(targetPort, 65535);
        _targetHost = targetHost;
        _targetPort = targetPort;
    }

    /// <summary>The port the proxy listens on (127.0.0.1). Valid after <see cref="StartAsync"/>.</summary>
    public int Port => _acceptLoop is null
        ? throw new InvalidOperationException("The proxy has not been started.")
        : ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>When true, new clients are accepted and closed at once (as if the broker were unreachable).</summary>
    public bool RefuseNew
    {
        get => _refuseNew;
        set => _refuseNew = value;
    }

    /// <summary>Connection pairs currently proxied.</summary>
    public int ActiveConnections
    {
        get
        {
            lock (_lock)
            {
                return _pairs.Count;
            }
        }
    }

    /// <summary>Bytes forwarded (or being forwarded) from clients to the target; held bytes are not counted.</summary>
    public long BytesUpstream => Interlocked.Read(ref _bytesUpstream);

    /// <summary>Bytes forwarded (or being forwarded) from the target to clients; held bytes are not counted.</summary>
    public long BytesDownstream => Interlocked.Read(ref _bytesDownstream);

    /// <summary>True between <see cref="Stall"/> and <see cref="Resume"/>.</summary>
    public bool IsStalled
    {
        get
        {
            lock (_lock)
            {
                return !_flowing.Task.IsCompleted;
            }
        }
    }

    /// <summary>Starts listening on 127.0.0.1 on an ephemeral port.</summary>
    public Task StartAsync()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_acceptLoop is not null)
        {
            throw new InvalidOperationException("The proxy is already started.");
        }

        _listener.Start();
        _acceptLoop = AcceptLoopAsync(_shutdown.Token);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops forwarding in both directions; sockets stay open and bytes already read are held
    /// (not lost) until <see cref="Resume"/>. Bytes already being written may still arrive.
    /// </summary>
    public void Stall()
    {
        lock (_lock)
        {
            if (_flowing.Task.IsCompleted)
            {
                _flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Forwards the held bytes and carries on.</summary>
    public void Resume()
    {
        lock (_lock)
        {
            _flowing.TrySetResult();
        }
    }

    /// <summary>Aborts every current connection pair with a TCP reset (both the client and the target side).</summary>
    public void CutAll()
    {
        Pair[] pairs;
        lock (_lock)
        {
            pairs = [.. _pairs];
            _pairs.Clear();
        }

        foreach (var pair in pairs)
        {
            pair.Abort();
        }
    }

    /// <summary>Stops the listener, aborts every pair and waits (at most 5 s) for all pumps to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _shutdown.CancelAsync();
        _listener.Dispose();
        CutAll();

        Task[] tasks;
        if (_acceptLoop is not null)
        {
            // The accept loop is the only producer of handlers: once it has ended the list is final.
            await _acceptLoop.WaitAsync(DisposeBound);
        }

        lock (_lock)
        {
            tasks = [.. _handlers];
            _handlers.Clear();
        }

        try
        {
            await Task.WhenAll(tasks).WaitAsync(DisposeBound);
        }
        finally
        {
            CutAll(); // a handler that registered while we were cancelling
            _shutdown.Dispose();
        }
    }

    private static TaskCompletionSource NewCompleted()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.SetResult();
        return tcs;
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // e.g. a client that reset before we accepted it
            }

            if (_refuseNew || ct.IsCancellationRequested)
            {
                CloseQuietly(client);
                continue;
            }

            lock (_lock)
            {
                _handlers.RemoveAll(t => t.IsCompleted);
                _handlers.Add(HandleAsync(client, ct));
            }
        }
    }

    private async Task HandleAsync(Socket client, CancellationToken ct)
    {
        Socket upstream = new(SocketType.Stream, ProtocolType.Tcp);
        var pair = new Pair(client, upstream);
        try
        {
            client.NoDelay = true;
            upstream.NoDelay = true;
            await upstream.ConnectAsync(_targetHost, _targetPort, ct);

            lock (_lock)
            {
                if (ct.IsCancellationRequested)
                {
                    return;
                }

                _pairs.Add(pair);
            }

            Task up = PumpAsync(client, upstream, upstreamDirection: true, ct);
            Task down = PumpAsync(upstream, client, upstreamDirection: false, ct);
            Task first = await Task.WhenAny(up, down);
            if (!first.IsCompletedSuccessfully)
            {
                pair.Abort(); // one side broke: break the other one too
            }

            await Task.WhenAll(up, down);
        }
        catch (Exception)
        {
            // Expected: the target is unreachable, the pair was cut or reset, or the proxy shuts down.
            // Either way the client sees a reset rather than a graceful close.
            pair.Abort();
        }
        finally
        {
            lock (_lock)
            {
                _pairs.Remove(pair);
            }

            pair.Close(); // no-op after Abort
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool upstreamDirection, CancellationToken ct)
    {
        byte[] buffer = new byte[16 * 1024];
        while (true)
        {
            int n = await from.ReceiveAsync(buffer, SocketFlags.None, ct);

            // Hold everything (data and EOF alike) while stalled; bytes read so far stay in the buffer.
            Task flowing;
            lock (_lock)
            {
                flowing = _flowing.Task;
            }

            await flowing.WaitAsync(ct);

            if (n == 0)
            {
                // Orderly EOF: pass it on as a half-close and let the other direction finish.
                to.Shutdown(SocketShutdown.Send);
                return;
            }

            // Counted before the send so that a peer that has received the bytes sees them counted.
            if (upstreamDirection)
            {
                Interlocked.Add(ref _bytesUpstream, n);
            }
            else
            {
                Interlocked.Add(ref _bytesDownstream, n);
            }

            int sent = 0;
            while (sent < n)
            {
                sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, ct);
            }
        }
    }

    private static void CloseQuietly(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    private sealed class Pair(Socket client, Socket upstream)
    {
        private int _closed;

        /// <summary>Closes both sockets with RST (linger on, timeout 0).</summary>
        public void Abort()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            Reset(client);
            Reset(upstream);
        }

        /// <summary>Closes both sockets normally (after the pumps ended).</summary>
        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            client.Dispose();
            upstream.Dispose();
        }

        private static void Reset(Socket socket)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }

            socket.Dispose();
        }
    }
}
