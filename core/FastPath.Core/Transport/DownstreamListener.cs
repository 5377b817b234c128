// A listening socket through Kestrel's SocketTransportFactory (used as a library, no Kestrel HTTP server): accepts
// connections, enforces the connection limit, and hands each connection to its handler.
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using FastPath.Observability.Logging;

namespace FastPath.Transport;

internal sealed class DownstreamListener
{
    private readonly IConnectionListener _listener;
    private readonly Func<ConnectionContext, Task> _handler;
    private readonly Func<int> _maxConnections;
    private readonly ILogger _logger;
    private readonly Task _acceptLoop;
    private int _active;

    private DownstreamListener(IConnectionListener listener, string name, Func<ConnectionContext, Task> handler, Func<int> maxConnections, ILogger logger)
    {
        _listener = listener;
        Name = name;
        _handler = handler;
        _maxConnections = maxConnections;
        _logger = logger;
        _acceptLoop = AcceptLoopAsync();
    }

    public string Name { get; }
    public IPEndPoint EndPoint => (IPEndPoint)_listener.EndPoint;
    public int ActiveConnections => Volatile.Read(ref _active);

    public static async Task<DownstreamListener> StartAsync(IConnectionListenerFactory factory, IPEndPoint endPoint, string name,
        Func<ConnectionContext, Task> handler, Func<int> maxConnections, ILogger logger)
    {
        IConnectionListener listener = await factory.BindAsync(endPoint).ConfigureAwait(false);
        return new DownstreamListener(listener, name, handler, maxConnections, logger);
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            ConnectionContext? connection;
            try
            {
                connection = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // A transient accept failure must not take the listener down.
                ProxyLog.AcceptFailed(_logger, EndPoint.ToString(), e);
                await Task.Delay(10).ConfigureAwait(false);
                continue;
            }
            if (connection is null) return; // unbound

            if (Interlocked.Increment(ref _active) > _maxConnections())
            {
                Interlocked.Decrement(ref _active);
                ProxyLog.ConnectionLimit(_logger, _maxConnections());
                connection.Abort();
                _ = connection.DisposeAsync();
                continue;
            }
            _ = HandleAsync(connection);
        }
    }

    private async Task HandleAsync(ConnectionContext connection)
    {
        try
        {
            await _handler(connection).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ProxyLog.ConnectionFailed(_logger, e);
        }
        finally
        {
            Interlocked.Decrement(ref _active);
            try { await connection.DisposeAsync().ConfigureAwait(false); } catch { /* closing anyway */ }
        }
    }

    /// <summary>Stops accepting; connections already accepted carry on (drain decides their fate).</summary>
    public async Task StopAcceptingAsync()
    {
        await _listener.UnbindAsync().ConfigureAwait(false);
        await _acceptLoop.ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
    }
}
