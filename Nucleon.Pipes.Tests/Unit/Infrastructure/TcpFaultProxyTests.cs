using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Unit.Infrastructure;

public class TcpFaultProxyTests
{
    private static readonly TimeSpan TestBound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan EndBound = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Bytes_PassThroughBothWays()
    {
        await RunBounded(async () =>
        {
            await using var echo = await EchoServer.StartAsync();
            await using var proxy = new TcpFaultProxy("127.0.0.1", echo.Port);
            await proxy.StartAsync();
            using var client = await ConnectAsync(proxy.Port);

            await SendAsync(client, "hello");
            Assert.Equal("hello", await ReceiveExactlyAsync(client, 5));

            // A larger payload crosses several pump buffers.
            byte[] big = new byte[200_000];
            new Random(42).NextBytes(big);
            Task send = client.SendAsync(big, SocketFlags.None);
            byte[] back = await ReceiveBytesAsync(client, big.Length);
            await send;
            Assert.Equal(big, back);

            Assert.Equal(1, proxy.ActiveConnections);
            Assert.Equal(5 + big.Length, proxy.BytesUpstream);
            Assert.Equal(5 + big.Length, proxy.BytesDownstream);

            // Server-initiated bytes go down too.
            Socket serverSide = await echo.NextAcceptedAsync();
            await SendAsync(serverSide, "push");
            Assert.Equal("push", await ReceiveExactlyAsync(client, 4));
        });
    }

    [Fact]
    public async Task Stall_HoldsBytesUpstream_AndResumeReleasesThemInOrder()
    {
        await RunBounded(async () =>
        {
            await using var echo = await EchoServer.StartAsync();
            await using var proxy = new TcpFaultProxy("127.0.0.1", echo.Port);
            await proxy.StartAsync();
            using var client = await ConnectAsync(proxy.Port);
            await SendAsync(client, "a");
            Assert.Equal("a", await ReceiveExactlyAsync(client, 1));

            proxy.Stall();
            Assert.True(proxy.IsStalled);
            await SendAsync(client, "one,");
            await SendAsync(client, "two,");
            await SendAsync(client, "three");

            Assert.False(client.Poll(TimeSpan.FromMilliseconds(300), SelectMode.SelectRead), "bytes passed a stalled proxy");
            Assert.Equal(1, proxy.BytesUpstream);
            Assert.Equal(1, proxy.ActiveConnections);

            proxy.Resume();
            Assert.False(proxy.IsStalled);
            Assert.Equal("one,two,three", await ReceiveExactlyAsync(client, 13));
            Assert.Equal(14, proxy.BytesUpstream);
            Assert.Equal(14, proxy.BytesDownstream);
        });
    }

    [Fact]
    public async Task Stall_HoldsBytesDownstream_AndResumeReleasesThem()
    {
        await RunBounded(async () =>
        {
            await using var echo = await EchoServer.StartAsync();
            await using var proxy = new TcpFaultProxy("127.0.0.1", echo.Port);
            await proxy.StartAsync();
            using var client = await ConnectAsync(proxy.Port);
            Socket serverSide = await echo.NextAcceptedAsync();

            proxy.Stall();
            proxy.Stall(); // idempotent
            await SendAsync(serverSide, "down");

            Assert.False(client.Poll(TimeSpan.FromMilliseconds(300), SelectMode.SelectRead), "bytes passed a stalled proxy");
            Assert.Equal(0, proxy.BytesDownstream);

            proxy.Resume();
            proxy.Resume(); // idempotent
            Assert.Equal("down", await ReceiveExactlyAsync(client, 4));
            Assert.Equal(4, proxy.BytesDownstream);
        });
    }

    [Fact]
    public async Task Stall_KeepsConnectionsOpen_AndHoldsEof()
    {
        await RunBounded(async () =>
        {
            await using var echo = await EchoServer.StartAsync();
            await using var proxy = new TcpFaultProxy("127.0.0.1", echo.Port);
            await proxy.StartAsync();
            using var client = await ConnectAsync(proxy.Port);
            Socket serverSide = await echo.NextAcceptedAsync();

            proxy.Stall();
            await SendAsync(serverSide, "bye");
            serverSide.Shutdown(SocketShutdown.Send);

            Assert.False(client.Poll(TimeSpan.FromMilliseconds(300), SelectMode.SelectRead), "data or EOF passed a stalled proxy");

            proxy.Resume();
            Assert.Equal("bye", await ReceiveExactlyAsync(client, 3));
            Assert.Equal(0, await client.ReceiveAsync(new byte[16], SocketFlags.None));
        });
    }

    [Fact]
    public async Task CutAll_EndsClientReads_AndNewConnectionsStillWork()
    {
        await RunBounded(async () =>
        {
            await using var echo = await EchoServer.StartAsync();
            await using var proxy = new TcpFaultProxy("127.0.0.1", echo.Port);
            await proxy.StartAsync();
            using var c1 = await ConnectAsync(proxy.Port);
            using var c2 = await ConnectAsync(proxy.Port);
            await SendAsync(c1, "x");
            await SendAsync(c2, "y");
            Assert.Equal("x", await ReceiveExactlyAsync(c1, 1));
            Assert.Equal("y", await ReceiveExactlyAsync(c2, 1));
            Assert.Equal(2, proxy.ActiveConnections);

            Task<bool> r1 = ReadEndsAsync(c1);
            Task<bool> r2 = ReadEndsAsync(c2);
            proxy.CutAll();

            Assert.True(await r1.WaitAsync(EndBound));
            Assert.True(await r2.WaitAsync(EndBound));
            Assert.Equal(0, proxy.ActiveConnections);

            // The target side was cut too.
            await echo.WaitForClosedAsync(2).WaitAsync(EndBound);

            using var c3 = await ConnectAsync(proxy.Port);
            await SendAsync(c3, "again");
            Assert.Equal("again", await ReceiveExactlyAsync(c3, 5));
            Assert.Equal(1, proxy.ActiveConnections);
        });
    }

    [Fact]
    public async Task CutAll_WhileStalled_EndsClientReads()
    {
        await RunBounded(async () =>
        {
            await using var echo = await EchoServer.StartAsync();
            await using var proxy = new TcpFaultProxy("127.0.0.1", echo.Port);
            await proxy.StartAsync();
            using var client = await ConnectAsync(proxy.Port);
            await SendAsync(client, "x");
            Assert.Equal("x", await ReceiveExactlyAsync(client, 1));

            proxy.Stall();
            await SendAsync(client, "held");
            Task<bool> ended = ReadEndsAsync(client);
            proxy.CutAll();

            Assert.True(await ended.WaitAsync(EndBound));
            Assert.Equal(0, proxy.ActiveConnections);
        });
    }

    [Fact]
    public async Task RefuseNew_NewClientSeesEof_ExistingOnesKeepWorking()
    {
        await RunBounded(async () =>
        {
            await using var echo = await EchoServer.StartAsync();
            await using var proxy = new TcpFaultProxy("127.0.0.1", echo.Port);
            await proxy.StartAsync();
            using var existing = await ConnectAsync(proxy.Port);
            await SendAsync(existing, "1");
            Assert.Equal("1", await ReceiveExactlyAsync(existing, 1));

            proxy.RefuseNew = true;
            using (var refused = await ConnectAsync(proxy.Port))
            {
                Assert.True(await ReadEndsAsync(refused).WaitAsync(EndBound));
            }

            Assert.Equal(1, echo.AcceptedCount);
            Assert.Equal(1, proxy.ActiveConnections);
            await SendAsync(existing, "2");
            Assert.Equal("2", await ReceiveExactlyAsync(existing, 1));

            proxy.RefuseNew = false;
            using var accepted = await ConnectAsync(proxy.Port);
            await SendAsync(accepted, "3");
            Assert.Equal("3", await ReceiveExactlyAsync(accepted, 1));
            Assert.Equal(2, echo.AcceptedCount);
        });
    }

    [Fact]
    public async Task UnreachableTarget_ClientSeesEnd()
    {
        await RunBounded(async () =>
        {
            int deadPort;
            using (var l = new TcpListener(IPAddress.Loopback, 0))
            {
                l.Start();
                deadPort = ((IPEndPoint)l.LocalEndpoint).Port;
            }

            await using var proxy = new TcpFaultProxy("127.0.0.1", deadPort);
            await proxy.StartAsync();
            Socket client;
            try
            {
                client = await ConnectAsync(proxy.Port);
            }
            catch (SocketException)
            {
                // The proxy's reset can beat the completion of our connect: that is an end too.
                Assert.Equal(0, proxy.ActiveConnections);
                return;
            }

            using (client)
            {
                Assert.True(await ReadEndsAsync(client).WaitAsync(EndBound));
            }

            Assert.Equal(0, proxy.ActiveConnections);
        });
    }

    [Fact]
    public async Task ClientClose_IsPassedOn_AndPairIsReleased()
    {
        await RunBounded(async () =>
        {
            await using var echo = await EchoServer.StartAsync();
            await using var proxy = new TcpFaultProxy("127.0.0.1", echo.Port);
            await proxy.StartAsync();
            var client = await ConnectAsync(proxy.Port);
            await SendAsync(client, "x");
            Assert.Equal("x", await ReceiveExactlyAsync(client, 1));

            client.Shutdown(SocketShutdown.Send);
            // The echo server sees EOF, closes, and the proxy passes that back.
            Assert.Equal(0, await client.ReceiveAsync(new byte[1], SocketFlags.None));
            client.Dispose();
            await echo.WaitForClosedAsync(1).WaitAsync(EndBound);
        });
    }

    [Fact]
    public async Task Dispose_ClosesEverything()
    {
        await RunBounded(async () =>
        {
            await using var echo = await EchoServer.StartAsync();
            var proxy = new TcpFaultProxy("127.0.0.1", echo.Port);
            await proxy.StartAsync();
            int port = proxy.Port;
            using var c1 = await ConnectAsync(port);
            using var c2 = await ConnectAsync(port);
            await SendAsync(c1, "x");
            await SendAsync(c2, "y");
            Assert.Equal("x", await ReceiveExactlyAsync(c1, 1));
            Assert.Equal("y", await ReceiveExactlyAsync(c2, 1));
            proxy.Stall(); // pumps parked on the stall gate must end too

            Task<bool> r1 = ReadEndsAsync(c1);
            Task<bool> r2 = ReadEndsAsync(c2);
            await proxy.DisposeAsync().AsTask().WaitAsync(EndBound);
            await proxy.DisposeAsync(); // idempotent

            Assert.Equal(0, proxy.ActiveConnections);
            Assert.True(await r1.WaitAsync(EndBound));
            Assert.True(await r2.WaitAsync(EndBound));
            await echo.WaitForClosedAsync(2).WaitAsync(EndBound);

            // The listener is gone.
            using var late = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await Assert.ThrowsAsync<SocketException>(async () => await late.ConnectAsync(IPAddress.Loopback, port));
        });
    }

    [Fact]
    public async Task Dispose_WithoutStart_OrWithoutClients_IsQuick()
    {
        await RunBounded(async () =>
        {
            await new TcpFaultProxy("127.0.0.1", 1).DisposeAsync();

            var proxy = new TcpFaultProxy("127.0.0.1", 1);
            await proxy.StartAsync();
            await proxy.DisposeAsync().AsTask().WaitAsync(EndBound);
        });
    }

    // ---------------------------------------------------------------- helpers

    private static Task RunBounded(Func<Task> test) => test().WaitAsync(TestBound);

    private static async Task<Socket> ConnectAsync(int port)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await s.ConnectAsync(IPAddress.Loopback, port);
        return s;
    }

    private static async Task SendAsync(Socket s, string text)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await s.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
        }
    }

    private static async Task<string> ReceiveExactlyAsync(Socket s, int count) =>
        Encoding.ASCII.GetString(await ReceiveBytesAsync(s, count));

    private static async Task<byte[]> ReceiveBytesAsync(Socket s, int count)
    {
        byte[] buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = await s.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None);
            if (n == 0)
            {
                throw new EndOfStreamException($"EOF after {read} of {count} bytes.");
            }

            read += n;
        }

        return buffer;
    }

    /// <summary>Completes with true once a read sees EOF or an error (data received first is skipped).</summary>
    private static async Task<bool> ReadEndsAsync(Socket s)
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (await s.ReceiveAsync(buffer, SocketFlags.None) > 0)
            {
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        return true;
    }

    /// <summary>A loopback echo server that also exposes its accepted sockets.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _cts = new();
        private readonly Channel<Socket> _accepted = Channel.CreateUnbounded<Socket>();
        private readonly List<Socket> _sockets = [];
        private readonly List<Task> _tasks = [];
        private readonly object _lock = new();
        private readonly SemaphoreSlim _closed = new(0);
        private Task _acceptLoop = Task.CompletedTask;
        private int _acceptedCount;

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int AcceptedCount => Volatile.Read(ref _acceptedCount);

        public static Task<EchoServer> StartAsync()
        {
            var server = new EchoServer();
            server._listener.Start();
            server._acceptLoop = server.AcceptLoopAsync();
            return Task.FromResult(server);
        }

        public async Task<Socket> NextAcceptedAsync() => await _accepted.Reader.ReadAsync().AsTask().WaitAsync(EndBound);

        public async Task WaitForClosedAsync(int count)
        {
            for (int i = 0; i < count; i++)
            {
                await _closed.WaitAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _cts.CancelAsync();
            _listener.Dispose();
            Socket[] sockets;
            Task[] tasks;
            lock (_lock)
            {
                sockets = [.. _sockets];
                tasks = [.. _tasks];
            }

            foreach (var s in sockets)
            {
                s.Dispose();
            }

            try
            {
                await Task.WhenAll([_acceptLoop, .. tasks]).WaitAsync(EndBound);
            }
            finally
            {
                _cts.Dispose();
                _closed.Dispose();
            }
        }

        private async Task AcceptLoopAsync()
        {
            try
            {
                while (true)
                {
                    Socket s = await _listener.AcceptSocketAsync(_cts.Token);
                    Interlocked.Increment(ref _acceptedCount);
                    lock (_lock)
                    {
                        _sockets.Add(s);
                        _tasks.Add(EchoAsync(s));
                    }

                    _accepted.Writer.TryWrite(s);
                }
            }
            catch (Exception) when (_cts.IsCancellationRequested)
            {
            }
        }

        private async Task EchoAsync(Socket s)
        {
            byte[] buffer = new byte[8192];
            try
            {
                int n;
                while ((n = await s.ReceiveAsync(buffer, SocketFlags.None, _cts.Token)) > 0)
                {
                    int sent = 0;
                    while (sent < n)
                    {
                        sent += await s.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, _cts.Token);
                    }
                }
            }
            catch (Exception)
            {
                // reset by the proxy, or shutting down
            }
            finally
            {
                s.Dispose();
                if (!_cts.IsCancellationRequested)
                {
                    _closed.Release();
                }
            }
        }
    }
}
