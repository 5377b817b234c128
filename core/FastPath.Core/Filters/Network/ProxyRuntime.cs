// What every downstream connection shares: the current config snapshot, the heartbeat, pools, access log and the
// drain state. Owned by FastPathProxy; read lock-free on the request path.
using System.Collections.Concurrent;
using FastPath.Config;
using FastPath.Observability.Logging;
using FastPath.Observability.Stats;
using FastPath.Transport;
using FastPath.Upstream.Clusters;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;

namespace FastPath.Filters.Network;

internal sealed class ProxyRuntime
{
    private ProxySnapshot _snapshot;
    private volatile bool _draining;

    public ProxyRuntime(ProxySnapshot snapshot, Heartbeat heartbeat, ClusterManager clusters, AccessLogger? accessLog, ILogger logger)
    {
        _snapshot = snapshot;
        Heartbeat = heartbeat;
        Clusters = clusters;
        AccessLog = accessLog;
        Logger = logger;
        NoClusterStats = clusters.StatsFor("");
        heartbeat.OnTick(now =>
        {
            foreach (KeyValuePair<HttpConnectionManager, byte> c in Connections) c.Key.CheckDeadlines(now);
            foreach (KeyValuePair<FilterChainConnection, byte> s in Sessions) s.Key.CheckDeadlines(now);
        });
    }

    public ProxySnapshot Snapshot => Volatile.Read(ref _snapshot);

    public ProxySnapshot Swap(ProxySnapshot next) => Interlocked.Exchange(ref _snapshot, next);

    public Heartbeat Heartbeat { get; }
    public ClusterManager Clusters { get; }
    public AccessLogger? AccessLog { get; set; }
    public ILogger Logger { get; }
    public ClusterStats NoClusterStats { get; }
    public ObjectPool<HttpExchange> Exchanges { get; } = HttpExchange.CreatePool();
    public ConcurrentDictionary<HttpConnectionManager, byte> Connections { get; } = new();
    /// <summary>Connections in a listener filter or tunnelled by a TcpProxy (HTTP ones are in Connections).</summary>
    public ConcurrentDictionary<FilterChainConnection, byte> Sessions { get; } = new();
    /// <summary>Raw upstream sockets for TcpProxy (the HTTP pools use the same connector).</summary>
    public UpstreamConnector Connector => Clusters.Connector;

    public bool Draining => _draining;

    /// <summary>From now on every response closes its connection, and idle connections are closed at once.</summary>
    public void BeginDrain()
    {
        _draining = true;
        foreach (HttpConnectionManager c in Connections.Keys) c.CloseIfIdle();
    }

    public int ActiveConnections => Connections.Count + Sessions.Count;

    /// <summary>The drain timeout passed: TCP tunnels and connections still in a listener filter close now.</summary>
    public void CloseSessions()
    {
        foreach (FilterChainConnection s in Sessions.Keys) s.Close();
    }
}
