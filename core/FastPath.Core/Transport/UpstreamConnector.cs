// Opens upstream connections on the process's socket transport: the epoll transport's connector, or a Socket wrapped
// by Kestrel's SocketConnectionContextFactory (FASTPATH_TRANSPORT=kestrel), so upstream connections are IDuplexPipes
// with the same buffer pool and back-pressure as downstream ones.
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace FastPath.Transport;

internal sealed class UpstreamConnector : IDisposable
{
    private readonly SocketConnectionContextFactory? _factory; // Kestrel's transport only

    public UpstreamConnector(ILoggerFactory loggerFactory)
    {
        if (Epoll.EpollTransport.Enabled) return;
        var options = new SocketConnectionFactoryOptions
        {
            // Upstream connections are few and busy (pooled, reused): skipping the zero-byte read saves a syscall
            // per response; downstream connections keep it, since thousands may sit idle.
            WaitForDataBeforeAllocatingBuffer = false,
            UnsafePreferInlineScheduling = Environment.GetEnvironmentVariable("FASTPATH_INLINE_SCHEDULING") != "0",
        };
        _factory = new SocketConnectionContextFactory(options, loggerFactory.CreateLogger("FastPath.Upstream"));
    }

    public ValueTask<ConnectionContext> ConnectAsync(IPEndPoint address, TimeSpan timeout) =>
        _factory is null ? Epoll.EpollTransport.Shared.ConnectAsync(address, timeout) : ConnectKestrelAsync(_factory, address, timeout);

    private static async ValueTask<ConnectionContext> ConnectKestrelAsync(SocketConnectionContextFactory factory, IPEndPoint address, TimeSpan timeout)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await socket.ConnectAsync(address, cts.Token).ConfigureAwait(false);
            return factory.Create(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => _factory?.Dispose();
}
