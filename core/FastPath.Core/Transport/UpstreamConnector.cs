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
            // An idle upstream connection holds no receive buffer (zero-byte reads first).
            WaitForDataBeforeAllocatingBuffer = true,
            UnsafePreferInlineScheduling = false,
        };
        _factory = new SocketConnectionContextFactory(options, loggerFactory.CreateLogger("FastPath.Upstream"));
    }

    public async ValueTask<ConnectionContext> ConnectAsync(IPEndPoint address, TimeSpan timeout)
    {
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
