// HTTP/2 connections to one endpoint, multiplexed: a request opens a stream on the first live connection that has
// room under the peer's SETTINGS_MAX_CONCURRENT_STREAMS; when every connection is full (or there is none) another is
// opened, up to the pool's cap. A connection that received GOAWAY opens no more streams (the engine says so) and
// leaves the pool once its streams end; streams above the GOAWAY's last id fail as refused, which the route's
// retry policy may retry (refused-stream). The connection engine (Http2/Http2Connection, client role) does the
// framing, flow control and defences; the pool only chooses.
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastPath.Http;
using FastPath.Http2;
using FastPath.Transport;
using FastPath.Upstream.Clusters;
using Microsoft.AspNetCore.Connections;

namespace FastPath.Upstream.Pools;

/// <summary>A stream opened for one request, or why none could be.</summary>
internal readonly record struct Http2StreamLease(Http2Stream? Stream, ProxyError Error);

internal sealed class Http2ConnectionPool
{
    private readonly Lock _lock = new();
    private readonly List<Http2Connection> _live = new();
    private readonly UpstreamConnector _connector;
    private readonly Http2ConnectionLimits _limits;
    private int _connecting;
    private int _openTotal;
    private int _connectFailures;

    public Http2ConnectionPool(string name, IPEndPoint address, UpstreamConnector connector, PoolSettings settings, Http2ConnectionLimits? limits = null)
    {
        Name = name;
        Address = address;
        _connector = connector;
        Settings = settings;
        _limits = limits ?? Http2ConnectionLimits.Default;
    }

    public string Name { get; }
    public IPEndPoint Address { get; }
    public PoolSettings Settings { get; set; }
    public int OpenConnections { get { lock (_lock) return _live.Count; } }
    public int ConnectionsOpened => Volatile.Read(ref _openTotal);
    public int ConnectFailures => Volatile.Read(ref _connectFailures);

    /// <summary>Raised with +1/-1 as connections open and close, for the active-connections gauge.</summary>
    public Action<int>? OnActiveChanged;

    /// <summary>
    /// Sends <paramref name="head"/> on a new stream. Synchronous when a live connection has room (the steady state);
    /// otherwise it connects first. Fails with UpstreamConnectFailure or, at the cap, UpstreamOverflow.
    /// </summary>
    public ValueTask<Http2StreamLease> OpenStreamAsync(HttpRequestHead head, bool endStream)
    {
        lock (_lock)
        {
            for (int i = 0; i < _live.Count; i++)
            {
                ValueTask<Http2Stream?> opened = _live[i].OpenStreamAsync(head, endStream);
                if (!opened.IsCompletedSuccessfully) return AwaitOpenedAsync(opened, head, endStream);
                if (opened.Result is { } stream) return new ValueTask<Http2StreamLease>(new Http2StreamLease(stream, ProxyError.None));
            }
            if (!TryReserveConnectionLocked()) return new ValueTask<Http2StreamLease>(new Http2StreamLease(null, ProxyError.UpstreamOverflow));
        }
        return ConnectAndOpenAsync(head, endStream);
    }

    // The connection's output is backlogged: wait for it; a stream it could not open after all goes elsewhere.
    private async ValueTask<Http2StreamLease> AwaitOpenedAsync(ValueTask<Http2Stream?> opened, HttpRequestHead head, bool endStream)
    {
        Http2Stream? stream = await opened.ConfigureAwait(false);
        if (stream is not null) return new Http2StreamLease(stream, ProxyError.None);
        lock (_lock)
        {
            if (!TryReserveConnectionLocked()) return new Http2StreamLease(null, ProxyError.UpstreamOverflow);
        }
        return await ConnectAndOpenAsync(head, endStream).ConfigureAwait(false);
    }

    /// <summary>Counts a connection about to be opened, unless the cap (open plus opening) is reached. Under _lock.</summary>
    private bool TryReserveConnectionLocked()
    {
        if (_live.Count + _connecting >= Settings.MaxConnections) return false;
        _connecting++;
        return true;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Http2StreamLease> ConnectAndOpenAsync(HttpRequestHead head, bool endStream)
    {
        ConnectionContext context;
        CircuitBreakers? breakers = Settings.Breakers;
        if (breakers is not null && !breakers.TryAcquireConnection())
        {
            lock (_lock) _connecting--;
            return new Http2StreamLease(null, ProxyError.UpstreamOverflow);
        }
        try
        {
            context = await _connector.ConnectAsync(Address, Settings.ConnectTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            breakers?.ReleaseConnection();
            lock (_lock) _connecting--;
            Interlocked.Increment(ref _connectFailures);
            return new Http2StreamLease(null, ProxyError.UpstreamConnectFailure);
        }
        Interlocked.Increment(ref _openTotal);
        Http2Connection connection = Http2Connection.ForClient(context.Transport, _limits);
        OnActiveChanged?.Invoke(1);
        Task run = RunAsync(connection, context, breakers);
        // Wait for the server's SETTINGS before the connection takes streams: its concurrency limit is unknown until
        // then, and streams above it would be refused. One round trip per new connection, none per request.
        Task settled = connection.PeerSettingsReceived;
        if (await Task.WhenAny(settled, run, Task.Delay(Settings.ConnectTimeout)).ConfigureAwait(false) != settled)
        {
            lock (_lock) _connecting--;
            connection.BeginGracefulShutdown();
            Interlocked.Increment(ref _connectFailures);
            return new Http2StreamLease(null, ProxyError.UpstreamConnectFailure);
        }
        lock (_lock)
        {
            _connecting--;
            if (!run.IsCompleted) _live.Add(connection);
        }
        Http2Stream? stream = await connection.OpenStreamAsync(head, endStream).ConfigureAwait(false);
        return stream is null ? new Http2StreamLease(null, ProxyError.UpstreamReset) : new Http2StreamLease(stream, ProxyError.None);
    }

    /// <summary>Reads the connection until it ends, then takes it out of the pool and closes its socket.</summary>
    private async Task RunAsync(Http2Connection connection, ConnectionContext context, CircuitBreakers? breakers)
    {
        try
        {
            await connection.RunAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The engine turns protocol errors into values; a transport failure just ends the connection.
        }
        finally
        {
            lock (_lock) _live.Remove(connection);
            OnActiveChanged?.Invoke(-1);
            breakers?.ReleaseConnection();
            try
            {
                await context.Transport.Output.CompleteAsync().ConfigureAwait(false);
                await context.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Closing anyway.
            }
        }
    }

    /// <summary>Heartbeat: the engines' timeouts (SETTINGS ACK, stalled windows, shutdown) and flood intervals.</summary>
    public void Tick(long now)
    {
        lock (_lock)
        {
            foreach (Http2Connection c in _live) c.Tick(now);
        }
    }

    /// <summary>Closes every connection gracefully (config removed the endpoint, or the proxy stops).</summary>
    public void CloseAll()
    {
        lock (_lock)
        {
            foreach (Http2Connection c in _live) c.BeginGracefulShutdown();
        }
    }
}
