// Keep-alive connections to one endpoint: the most recently used idle connection is reused first (it is the one
// least likely to have been closed by the origin); new ones are opened up to a cap, with a connect timeout; past
// the cap, requests queue (bounded) for a released connection, as Envoy's pending requests do.
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastPath.Config;
using FastPath.Tls;
using FastPath.Transport;
using Microsoft.AspNetCore.Connections;
using FastPath.Upstream.Clusters;

namespace FastPath.Upstream.Pools;

/// <param name="Http2Selected">Protocol auto: no connection, because the one opened for this request found the origin
/// choosing h2; it joined the endpoint's HTTP/2 pool, where the request goes instead (not a failure).</param>
internal readonly record struct PoolLease(UpstreamConnection? Connection, ProxyError Error, bool Reused, bool Http2Selected = false);

internal sealed class Http1ConnectionPool
{
    private readonly Lock _lock = new();
    private readonly Stack<UpstreamConnection> _idle = new();
    private readonly Queue<PoolWaiter> _waiters = new();
    private readonly UpstreamConnector _connector;
    private int _open;
    private int _openTotal;
    private int _connectFailures;
    private volatile bool _http11Selected;

    /// <param name="host">The endpoint's host as configured: the SNI and the name its certificate must match under TLS.</param>
    public Http1ConnectionPool(string name, IPEndPoint address, UpstreamConnector connector, PoolSettings settings, string? host = null)
    {
        Name = name;
        Host = host ?? address.Address.ToString();
        Address = address;
        _connector = connector;
        Settings = settings;
    }

    public string Name { get; }
    public string Host { get; }
    /// <summary>The TLS settings its connections were opened with ("" for plaintext): a change needs a new pool.</summary>
    public string TlsFingerprint { get; init; } = "";
    public IPEndPoint Address { get; }
    public PoolSettings Settings { get; set; }
    public int OpenConnections => Volatile.Read(ref _open);
    public int IdleConnections { get { lock (_lock) return _idle.Count; } }
    public int ConnectionsOpened => Volatile.Read(ref _openTotal);
    public int ConnectFailures => Volatile.Read(ref _connectFailures);

    /// <summary>Raised with +1/-1 as connections open and close, for the active-connections gauge.</summary>
    public Action<int>? OnActiveChanged;

    /// <summary>
    /// The endpoint's HTTP/2 pool when its cluster speaks HTTP/2 to it (protocol: http2); requests then go there and
    /// this pool opens no connections. Kept here so reloads, drains and the heartbeat reach both through one object.
    /// </summary>
    public Http2ConnectionPool? Http2 { get; init; }

    /// <summary>What the cluster speaks to the endpoint: a change needs a new pool.</summary>
    public UpstreamProtocol Protocol { get; init; }

    /// <summary>
    /// Where a request to this endpoint opens first: the HTTP/2 pool (protocol http2, or auto while the origin's last
    /// ALPN choice was h2), or null for this pool. Protocol auto with the origin on http/1.1 comes here; as in Envoy,
    /// every new connection offers both again, and one on which the origin picks h2 (it was upgraded) moves the
    /// endpoint back to HTTP/2 - the lease from <see cref="AcquireAsync"/> then says Http2Selected and the request goes
    /// to <see cref="Http2"/> after all. Idle HTTP/1.1 connections are kept until then, so a steady origin costs no
    /// handshake.
    /// </summary>
    public Http2ConnectionPool? Http2Now => _http11Selected ? null : Http2;

    public ValueTask<PoolLease> AcquireAsync()
    {
        while (true)
        {
            UpstreamConnection? idle = null;
            lock (_lock)
            {
                if (_idle.Count > 0) idle = _idle.Pop();
            }
            if (idle is null) break;
            if (idle.IsReusable()) return new ValueTask<PoolLease>(new PoolLease(idle, ProxyError.None, true));
            idle.Close();
        }

        if (Interlocked.Increment(ref _open) > Settings.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            return WaitForConnectionAsync();
        }
        CircuitBreakers? breakers = Settings.Breakers;
        if (breakers is not null && !breakers.TryAcquireConnection())
        {
            // The cluster-wide max_connections is reached: as in Envoy the request waits for a connection of this
            // endpoint to come free; with none open here, nothing would free one, so it overflows at once.
            Interlocked.Decrement(ref _open);
            return OpenConnections > 0 ? WaitForConnectionAsync() : new ValueTask<PoolLease>(new PoolLease(null, ProxyError.UpstreamOverflow, false));
        }
        OnActiveChanged?.Invoke(1);
        return ConnectAsync(breakers);
    }

    // The pool is full: queue (bounded by MaxPending) until a connection is released or a slot frees, at most
    // connect_timeout, as Envoy's pending requests do. Only saturated pools come here, so it may allocate.
    private async ValueTask<PoolLease> WaitForConnectionAsync()
    {
        var waiter = new PoolWaiter();
        // circuit_breakers.max_pending_requests bounds the waiters of the whole cluster; max_pending_requests of the
        // cluster (older, per endpoint) bounds this endpoint's queue. Either full: 503 UO.
        CircuitBreakers? breakers = Settings.Breakers;
        if (breakers is not null && !breakers.TryAcquirePending()) return new PoolLease(null, ProxyError.UpstreamOverflow, false);
        UpstreamConnection? connection;
        try
        {
            lock (_lock)
            {
                // Re-check under the lock: a release between the caller's checks and here went to the idle stack.
                if (_idle.Count > 0) return new PoolLease(_idle.Pop(), ProxyError.None, true);
                if (_waiters.Count >= Settings.MaxPending) return new PoolLease(null, ProxyError.UpstreamOverflow, false);
                _waiters.Enqueue(waiter);
            }
            try
            {
                connection = await waiter.Task.WaitAsync(Settings.ConnectTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                if (waiter.TryAbandon()) return new PoolLease(null, ProxyError.UpstreamOverflow, false);
                connection = await waiter.Task.ConfigureAwait(false); // served just as the wait ran out
            }
        }
        finally
        {
            breakers?.ReleasePending();
        }
        if (connection is null) return await AcquireAsync().ConfigureAwait(false); // a slot freed: take it
        if (connection.IsReusable()) return new PoolLease(connection, ProxyError.None, true);
        connection.Close();
        return await AcquireAsync().ConfigureAwait(false);
    }

    private PoolWaiter? NextWaiterLocked()
    {
        while (_waiters.TryDequeue(out PoolWaiter? w))
            if (w.TryServe()) return w;
        return null;
    }

    /// <summary>A connection slot came free (closed or failed to open): the first waiter may open one.</summary>
    private void OnSlotFreed()
    {
        PoolWaiter? w;
        lock (_lock) w = NextWaiterLocked();
        w?.Complete(null);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PoolLease> ConnectAsync(CircuitBreakers? breakers)
    {
        try
        {
            ConnectionContext context = await _connector.ConnectAsync(Address, Settings.ConnectTimeout).ConfigureAwait(false);
            if (Settings.Tls is { } tls)
            {
                context = await tls.AuthenticateAsync(context, Host, Settings.ConnectTimeout).ConfigureAwait(false);
                if (Protocol == UpstreamProtocol.Auto && Http2 is { } http2 && UpstreamTlsContext.SelectedHttp2(context))
                    return await MoveToHttp2Async(http2, context, breakers).ConfigureAwait(false);
            }
            Interlocked.Increment(ref _openTotal);
            return new PoolLease(new UpstreamConnection(context, this) { CountedBy = breakers }, ProxyError.None, false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            breakers?.ReleaseConnection();
            Interlocked.Increment(ref _connectFailures);
            Interlocked.Decrement(ref _open);
            OnActiveChanged?.Invoke(-1);
            OnSlotFreed();
            return new PoolLease(null, ProxyError.UpstreamConnectFailure, false);
        }
    }

    /// <summary>
    /// Protocol auto, on HTTP/1.1: the origin chose h2 on a new connection. The endpoint goes back to HTTP/2 and the
    /// connection (with its cluster-wide count) to that pool; the slot taken for it here is given back.
    /// </summary>
    private async ValueTask<PoolLease> MoveToHttp2Async(Http2ConnectionPool http2, ConnectionContext context, CircuitBreakers? breakers)
    {
        Interlocked.Decrement(ref _open);
        OnActiveChanged?.Invoke(-1);
        OnSlotFreed();
        if (!await http2.AdoptHttp2Async(context, breakers).ConfigureAwait(false))
            return new PoolLease(null, ProxyError.UpstreamConnectFailure, false);
        _http11Selected = false;
        return new PoolLease(null, ProxyError.None, false, Http2Selected: true);
    }

    /// <summary>
    /// Protocol auto: a connection the HTTP/2 pool opened on which the origin chose http/1.1. From now on the endpoint
    /// speaks HTTP/1.1 through this pool, and the connection is its first idle one (it holds its cluster-wide count).
    /// </summary>
    internal void AdoptHttp11(ConnectionContext context, CircuitBreakers? breakers)
    {
        _http11Selected = true;
        Interlocked.Increment(ref _open);
        Interlocked.Increment(ref _openTotal);
        OnActiveChanged?.Invoke(1);
        Release(new UpstreamConnection(context, this) { CountedBy = breakers });
    }

    /// <summary>Returns a connection whose last exchange left it clean (complete response, no Connection: close).</summary>
    public void Release(UpstreamConnection connection)
    {
        int max = Settings.MaxRequestsPerConnection;
        if (max > 0 && ++connection.Requests >= max)
        {
            connection.Close(); // retired; the slot it frees goes to a waiter, if any, as a new connection
            return;
        }
        connection.IdleSince = FastPath.Transport.PassClock.NowMs;
        PoolWaiter? waiter;
        lock (_lock)
        {
            if (Draining) waiter = null;
            else if ((waiter = NextWaiterLocked()) is null)
            {
                _idle.Push(connection);
                return;
            }
        }
        if (waiter is not null) waiter.Complete(connection); // handed straight to a request waiting for one
        else connection.Close();
    }

    internal void OnClosed(UpstreamConnection connection)
    {
        connection.CountedBy?.ReleaseConnection();
        Interlocked.Decrement(ref _open);
        OnActiveChanged?.Invoke(-1);
        OnSlotFreed();
    }

    public bool Draining { get; private set; }

    /// <summary>Closes idle connections older than the idle timeout (called from the heartbeat).</summary>
    public void PruneIdle(long now)
    {
        Http2?.Tick(now);
        long maxIdle = (long)Settings.IdleTimeout.TotalMilliseconds;
        List<UpstreamConnection>? expired = null;
        lock (_lock)
        {
            if (_idle.Count == 0) return;
            // The stack's bottom holds the oldest; rebuild only when something expired.
            foreach (UpstreamConnection c in _idle)
                if (Draining || now - c.IdleSince >= maxIdle) (expired ??= []).Add(c);
            if (expired is null) return;
            UpstreamConnection[] keep = _idle.Where(c => !expired.Contains(c)).Reverse().ToArray();
            _idle.Clear();
            foreach (UpstreamConnection c in keep) _idle.Push(c);
        }
        foreach (UpstreamConnection c in expired) c.Close();
    }

    /// <summary>Stops pooling (the endpoint left the config or the process is stopping) and closes idle connections.</summary>
    public void Drain()
    {
        lock (_lock) Draining = true;
        PruneIdle(Environment.TickCount64);
        Http2?.CloseAll();
    }
}

/// <param name="Breakers">The cluster's circuit breakers (cluster-wide connection and pending limits); null: none.</param>
internal sealed record PoolSettings(int MaxConnections, TimeSpan ConnectTimeout, TimeSpan IdleTimeout, int MaxPending = 1024,
    CircuitBreakers? Breakers = null)
{
    /// <summary>TLS origination for new connections; null: plaintext.</summary>
    public UpstreamTlsContext? Tls { get; init; }
    /// <summary>Requests per connection before it is retired; 0: no limit (see ClusterConfig.MaxRequestsPerConnection).</summary>
    public int MaxRequestsPerConnection { get; init; }
}

/// <summary>
/// A request waiting for a connection of a full pool. It is served once: with a released connection, or with
/// null meaning "a slot is free, open one"; or it gives up at its timeout (whichever wins the state change).
/// </summary>
internal sealed class PoolWaiter
{
    private const int Waiting = 0, Served = 1, Abandoned = 2;
    private readonly TaskCompletionSource<UpstreamConnection?> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _state;

    public Task<UpstreamConnection?> Task => _result.Task;

    public bool TryServe() => Interlocked.CompareExchange(ref _state, Served, Waiting) == Waiting;

    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Waiting;

    public void Complete(UpstreamConnection? connection) => _result.TrySetResult(connection);
}
