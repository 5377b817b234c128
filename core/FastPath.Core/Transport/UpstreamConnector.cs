// Opens upstream sockets and wraps them with Kestrel's SocketConnectionContextFactory, so upstream connections are
// IDuplexPipes with the same buffer pool and back-pressure as downstream ones.
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace FastPath.Transport;

internal sealed class UpstreamConnector : IDisposable
{
    private readonly SocketConnectionContextFactory _factory;

    public UpstreamConnector(ILoggerFactory loggerFactory)
    {
        var options = new SocketConnectionFactoryOptions
        {
            // Upstream connections are few and busy (pooled, reused): skipping the zero-byte read saves a syscall
            // per response; downstream connections keep it, since thousands may sit idle.
            WaitForDataBeforeAllocatingBuffer = false,
            UnsafePreferInlineScheduling = Environment.GetEnvironmentVariable("FASTPATH_INLINE_SCHEDULING") != "0",
        };
        _factory = new SocketConnectionContextFactory(options, loggerFactory.CreateLogger("FastPath.Upstream"));
    }

    public async ValueTask<ConnectionContext> ConnectAsync(IPEndPoint address, TimeSpan timeout)
    {
        if (Epoll.EpollTransport.Enabled) return await Epoll.EpollTransport.Shared.ConnectAsync(address, timeout).ConfigureAwait(false);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await socket.ConnectAsync(address, cts.Token).ConfigureAwait(false);
            return _factory.Create(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => _factory.Dispose();
}
