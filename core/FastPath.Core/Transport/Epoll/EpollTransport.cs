// FastPath's own socket transport, the default on Linux x64 (FASTPATH_TRANSPORT=kestrel selects Kestrel's): listeners
// and upstream connections on EpollLoops, one per core, producing the same ConnectionContext/IDuplexPipe as Kestrel's
// socket transport. An upstream connection
// opened while handling a request joins the loop that request runs on, so a proxied exchange stays on one thread.
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using static FastPath.Transport.Epoll.EpollNative;

namespace FastPath.Transport.Epoll;

internal sealed class EpollTransport : IConnectionListenerFactory
{
    private static readonly Lazy<EpollTransport> s_shared = new(() => new EpollTransport());
    private readonly EpollLoop[] _loops;
    private int _next;

    private EpollTransport()
    {
        int count = int.TryParse(Environment.GetEnvironmentVariable("FASTPATH_EPOLL_LOOPS"), out int n) && n > 0 ? n : Environment.ProcessorCount;
        _loops = new EpollLoop[count];
        for (int i = 0; i < count; i++) _loops[i] = new EpollLoop(i);
    }

    /// <summary>Whether this process runs its sockets on the epoll transport: on Linux x64 unless FASTPATH_TRANSPORT=kestrel.</summary>
    public static bool Enabled { get; } = EpollNative.IsSupported && Environment.GetEnvironmentVariable("FASTPATH_TRANSPORT") != "kestrel";

    public static EpollTransport Shared => s_shared.Value;

    public int LoopCount => _loops.Length;

    /// <summary>The loop running this code (an upstream connection opened for a request stays with it), else the next.</summary>
    private EpollLoop PickLoop() => EpollLoop.Current ?? NextLoop();

    /// <summary>Round robin over the loops (accepted connections are spread, whichever loop accepted them).</summary>
    private EpollLoop NextLoop() => _loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)_loops.Length)];

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ip) throw new NotSupportedException($"The epoll transport listens on IP endpoints only, not {endpoint}.");
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (ip.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            socket.Bind(ip);
            socket.Listen(4096);
            socket.Blocking = false;
            var listener = new Listener(this, socket, PickLoop());
            return new ValueTask<IConnectionListener>(listener);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async ValueTask<ConnectionContext> ConnectAsync(IPEndPoint address, TimeSpan timeout)
    {
        EpollLoop loop = PickLoop();
        int fd = socket(address.AddressFamily == AddressFamily.InterNetworkV6 ? 10 : 2, (int)SocketType.Stream | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) throw Error(Marshal.GetLastPInvokeError());
        var handle = new SocketFd(fd);
        try
        {
            SetNoDelay(handle);
            int errno = StartConnect(handle, address);
            ConnectWaiter? waiter = null;
            if (errno == EINPROGRESS)
            {
                waiter = new ConnectWaiter(loop, handle);
                using var cts = new CancellationTokenSource(timeout);
                await using (cts.Token.UnsafeRegister(static s => ((ConnectWaiter)s!).Cancel(), waiter).ConfigureAwait(false))
                {
                    errno = await waiter.Task.ConfigureAwait(false);
                }
                if (errno < 0) throw new OperationCanceledException($"connect to {address} timed out after {timeout}");
            }
            if (errno != 0) throw Error(errno);
            var connection = new EpollConnection(loop, handle, address, upstream: true);
            if (waiter is null) connection.Start();
            else if (loop.IsCurrent) connection.Start(waiter.Registration, waiter.ReadyEvents); // the usual case: completed inline on the loop
            else
            {
                loop.Unregister(waiter.Registration, handle);
                connection.Start();
            }
            return connection;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static unsafe void SetNoDelay(SafeHandle handle)
    {
        int one = 1;
        setsockopt(handle, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int));
    }

    private static unsafe int StartConnect(SafeHandle handle, IPEndPoint address)
    {
        byte* sa = stackalloc byte[28];
        new Span<byte>(sa, 28).Clear();
        int length;
        ushort port = (ushort)address.Port;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            *(ushort*)sa = 10;
            sa[2] = (byte)(port >> 8);
            sa[3] = (byte)port;
            address.Address.TryWriteBytes(new Span<byte>(sa + 8, 16), out _);
            *(uint*)(sa + 24) = (uint)address.Address.ScopeId;
            length = 28;
        }
        else
        {
            *(ushort*)sa = 2;
            sa[2] = (byte)(port >> 8);
            sa[3] = (byte)port;
            address.Address.TryWriteBytes(new Span<byte>(sa + 4, 4), out _);
            length = 16;
        }
        while (true)
        {
            if (connect(handle, sa, length) == 0) return 0;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR) return errno;
        }
    }

    private static unsafe int SocketError(SafeHandle handle)
    {
        int error = 0, length = sizeof(int);
        return getsockopt(handle, SOL_SOCKET, SO_ERROR, &error, &length) == 0 ? error : Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// Waits, on the loop, for a non-blocking connect to finish. It completes on the loop thread, running the caller
    /// inline there (the request that asked for the connection carries on in the same pass, on the loop the connection
    /// joins), and a connected socket keeps its epoll registration for the connection (<see cref="Registration"/>):
    /// no epoll_ctl, no thread-pool hop. A failed or timed-out connect leaves the epoll set.
    /// </summary>
    private sealed class ConnectWaiter : IEpollHandler
    {
        private readonly TaskCompletionSource<int> _done = new();
        private readonly EpollLoop _loop;
        private readonly SocketFd _handle;
        private readonly ulong _token;

        public ConnectWaiter(EpollLoop loop, SocketFd handle)
        {
            _loop = loop;
            _handle = handle;
            _token = loop.Register(handle, this, upstream: true); // kept by the connection it becomes
        }

        public Task<int> Task => _done.Task;

        public ulong Registration => _token;

        /// <summary>The events that completed the connect (loop thread).</summary>
        public uint ReadyEvents { get; private set; }

        public void OnEvents(uint events)
        {
            if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
            ReadyEvents = events;
            Finish(SocketError(_handle));
        }

        public void Cancel() => _loop.Post(static s => ((ConnectWaiter)s!).Finish(-1), this);

        private void Finish(int result)
        {
            if (_done.Task.IsCompleted) return;
            if (result != 0) _loop.Unregister(_token, _handle);
            _done.TrySetResult(result);
        }
    }

    private sealed class Listener : IConnectionListener, IEpollHandler
    {
        private readonly EpollTransport _transport;
        private readonly Socket _socket;
        private readonly EpollLoop _loop;
        private readonly ulong _token;
        private readonly Channel<ConnectionContext> _accepted = Channel.CreateUnbounded<ConnectionContext>(
            new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = true });
        private int _unbound;

        public Listener(EpollTransport transport, Socket socket, EpollLoop loop)
        {
            _transport = transport;
            _socket = socket;
            _loop = loop;
            EndPoint = socket.LocalEndPoint!;
            _token = loop.Register(socket.SafeHandle, this);
        }

        public EndPoint EndPoint { get; }

        public unsafe void OnEvents(uint events)
        {
            byte* peer = stackalloc byte[SockAddrStorage];
            while (Volatile.Read(ref _unbound) == 0)
            {
                int fd;
                int peerLength = SockAddrStorage;
                try
                {
                    fd = accept4(_socket.SafeHandle, peer, &peerLength, SOCK_NONBLOCK | SOCK_CLOEXEC);
                }
                catch (ObjectDisposedException)
                {
                    return; // unbound meanwhile
                }
                if (fd < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno is EINTR or ECONNABORTED) continue;
                    if (errno == EAGAIN) return;
                    // Out of descriptors or memory: the connections wait in the backlog, and no new edge may come for
                    // them, so look again shortly.
                    _ = RetryLaterAsync();
                    return;
                }
                // The peer's address came with accept4; the Socket object is made only if something asks for it.
                var handle = new SocketFd(fd);
                SetNoDelay(handle);
                var connection = new EpollConnection(_transport.NextLoop(), handle, ToEndPoint(peer));
                connection.Start();
                if (!_accepted.Writer.TryWrite(connection))
                {
                    connection.Abort();
                    _ = connection.DisposeAsync();
                }
            }
        }

        private async Task RetryLaterAsync()
        {
            await Task.Delay(10).ConfigureAwait(false);
            _loop.Post(static s => ((Listener)s!).OnEvents(EPOLLIN), this);
        }

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                return null;
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _unbound, 1) == 0)
            {
                _loop.Unregister(_token, _socket.SafeHandle);
                _socket.Dispose();
                _accepted.Writer.TryComplete();
            }
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => UnbindAsync();
    }
}
