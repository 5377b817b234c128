// Keep-alive connections to one endpoint: the most recently used idle connection is reused first (it is the one
// least likely to have been closed by the origin); new ones are opened up to a cap, with a connect timeout.
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastPath.Transport;

namespace FastPath.Upstream.Pools;

internal readonly record struct PoolLease(UpstreamConnection? Connection, ProxyError Error, bool Reused);

internal sealed class Http1ConnectionPool
{
    private readonly Lock _lock = new();
    private readonly Stack<UpstreamConnection> _idle = new();
    private readonly UpstreamConnector _connector;
    private int _open;
    private int _openTotal;
    private int _connectFailures;

    public Http1ConnectionPool(string name, IPEndPoint address, UpstreamConnector connector, PoolSettings settings)
    {
        Name = name;
        Address = address;
        _connector = connector;
        Settings = settings;
    }

    public string Name { get; }
    public IPEndPoint Address { get; }
    public PoolSettings Settings { get; set; }
    public int OpenConnections => Volatile.Read(ref _open);
    public int IdleConnections { get { lock (_lock) return _idle.Count; } }
    public int ConnectionsOpened => Volatile.Read(ref _openTotal);
    public int ConnectFailures => Volatile.Read(ref _connectFailures);

    /// <summary>Raised with +1/-1 as connections open and close, for the active-connections gauge.</summary>
    public Action<int>? OnActiveChanged;

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
            return new ValueTask<PoolLease>(new PoolLease(null, ProxyError.UpstreamOverflow, false));
        }
        OnActiveChanged?.Invoke(1);
        return ConnectAsync();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PoolLease> ConnectAsync()
    {
        try
        {
            var context = await _connector.ConnectAsync(Address, Settings.ConnectTimeout).ConfigureAwait(false);
            Interlocked.Increment(ref _openTotal);
            return new PoolLease(new UpstreamConnection(context, this), ProxyError.None, false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            Interlocked.Increment(ref _connectFailures);
            Interlocked.Decrement(ref _open);
            OnActiveChanged?.Invoke(-1);
            return new PoolLease(null, ProxyError.UpstreamConnectFailure, false);
        }
    }

    /// <summary>Returns a connection whose last exchange left it clean (complete response, no Connection: close).</summary>
    public void Release(UpstreamConnection connection)
    {
        connection.IdleSince = Environment.TickCount64;
        connection.RequestCount++;
        lock (_lock)
        {
            if (!Draining)
            {
                _idle.Push(connection);
                return;
            }
        }
        connection.Close();
    }

    internal void OnClosed(UpstreamConnection connection)
    {
        Interlocked.Decrement(ref _open);
        OnActiveChanged?.Invoke(-1);
    }

    public bool Draining { get; private set; }

    /// <summary>Closes idle connections older than the idle timeout (called from the heartbeat).</summary>
    public void PruneIdle(long now)
    {
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
    }
}

internal sealed record PoolSettings(int MaxConnections, TimeSpan ConnectTimeout, TimeSpan IdleTimeout);
