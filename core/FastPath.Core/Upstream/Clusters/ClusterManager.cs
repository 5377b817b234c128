// Builds runtime clusters from config and keeps what must outlive a snapshot: connection pools (so keep-alive
// connections survive a reload) and stats handles. Pools whose endpoint left the config are drained.
using System.Net;
using System.Net.Sockets;
using FastPath.Config;
using FastPath.Http2;
using FastPath.Observability.Stats;
using FastPath.Tls;
using FastPath.Transport;
using FastPath.Upstream.Health;
using FastPath.Upstream.Pools;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace FastPath.Upstream.Clusters;

internal sealed class ClusterManager : IDisposable
{
    private readonly UpstreamConnector _connector;
    private readonly ILogger? _logger;
    private readonly Lock _lock = new();
    private Dictionary<(string Cluster, string Endpoint), Http1ConnectionPool> _pools = [];
    // Live endpoints, reused by the next build when nothing about them changed: their requests-in-flight counts and
    // latency history (what least_request and peak_ewma decide on) then survive a reload, which in a mesh is frequent.
    private Dictionary<(string Cluster, string Endpoint), UpstreamEndpoint> _endpoints = [];
    private readonly Dictionary<string, ClusterStats> _stats = [];
    // Active health checkers and outlier detectors, which outlive snapshots like pools do.
    private readonly UpstreamHealthMonitor _health;
    private bool _activated;
    // Circuit-breaker counts per cluster name, for the process's life like the stats: what a request or connection
    // took under one snapshot it gives back to the same counters under the next.
    private readonly Dictionary<string, ClusterResources> _resources = [];

    /// <summary>Opens upstream sockets; the TCP proxy uses it directly, without a pool.</summary>
    public UpstreamConnector Connector => _connector;

    /// <summary>Certificates and trust bundles of every TLS context (both directions), reloadable at run time.</summary>
    public CertificateStore Certificates { get; }

    public ClusterManager(UpstreamConnector connector, Heartbeat heartbeat, ILogger? logger = null, TimeProvider? time = null)
    {
        _connector = connector;
        _logger = logger;
        _health = new UpstreamHealthMonitor(logger ?? NullLogger.Instance, time ?? TimeProvider.System);
        Certificates = new CertificateStore(logger);
        heartbeat.OnTick(PruneIdle);
        heartbeat.OnTick(Certificates.Poll);
        heartbeat.OnTick(_ => _health.Tick());
    }

    /// <summary>
    /// Builds every cluster of a config without side effects: pools of endpoints that stay are reused, new ones are
    /// created but not yet tracked. Nothing changes for the running config until <see cref="Activate"/>, so a
    /// config rejected later (a listener that cannot bind) leaves pools and settings as they were. Throws
    /// ConfigException when an endpoint host cannot be resolved.
    /// </summary>
    public ClusterSet Build(GatewayConfig config, string file)
    {
        var errors = new List<ConfigError>();
        var resolved = new Dictionary<(string, string), IPEndPoint>();
        for (int i = 0; i < config.Clusters.Count; i++)
        {
            ClusterConfig c = config.Clusters[i];
            for (int j = 0; j < c.Endpoints.Count; j++)
            {
                EndpointConfig e = c.Endpoints[j];
                if (Resolve(e) is { } ip) resolved[(c.Name, e.ToString())] = ip;
                else errors.Add(new ConfigError(file, 0, 0, $"clusters[{i}].endpoints[{j}]", $"cannot resolve host '{e.Host}'"));
            }
        }
        if (errors.Count > 0) throw new ConfigException(errors);

        var tlsFactory = new TlsContextFactory(config, Certificates, _logger);
        var tls = new Dictionary<string, UpstreamTlsContext?>(StringComparer.Ordinal);
        for (int i = 0; i < config.Clusters.Count; i++) tls[config.Clusters[i].Name] = tlsFactory.Upstream(config.Clusters[i], $"clusters[{i}].tls");

        lock (_lock)
        {
            var pools = new Dictionary<(string, string), (Http1ConnectionPool Pool, PoolSettings Settings)>();
            var clusters = new Dictionary<string, Cluster>(StringComparer.Ordinal);
            foreach (ClusterConfig c in config.Clusters)
            {
                ClusterStats stats = StatsForLocked(c.Name);
                if (!_resources.TryGetValue(c.Name, out ClusterResources? resources)) _resources[c.Name] = resources = new ClusterResources();
                var breakers = new CircuitBreakers(c.CircuitBreakers, c.RetryBudget, resources, stats);
                var settings = new PoolSettings(c.MaxConnectionsPerEndpoint, c.ConnectTimeout, c.IdleTimeout, c.MaxPendingRequests, breakers)
                {
                    Tls = tls[c.Name],
                    MaxRequestsPerConnection = c.MaxRequestsPerConnection,
                };
                // Connections opened under other TLS settings (or in plaintext) must not serve this config's requests.
                string tlsFingerprint = c.Tls?.Fingerprint ?? "";
                var endpoints = new List<UpstreamEndpoint>();
                foreach (EndpointConfig e in c.Endpoints)
                {
                    string name = e.ToString();
                    IPEndPoint ip = resolved[(c.Name, name)];
                    bool http2 = c.Protocol is UpstreamProtocol.Http2 or UpstreamProtocol.Auto;
                    if (!_pools.TryGetValue((c.Name, name), out Http1ConnectionPool? pool) || !pool.Address.Equals(ip) || pool.TlsFingerprint != tlsFingerprint
                        || pool.Protocol != c.Protocol || (http2 && pool.Http2!.Options != c.Http2))
                    {
                        pool = new Http1ConnectionPool(name, ip, _connector, settings, e.Host)
                        {
                            TlsFingerprint = tlsFingerprint,
                            Protocol = c.Protocol,
                            Http2 = http2 ? new Http2ConnectionPool(name, ip, _connector, settings, e.Host, Http2Limits(c.Http2)) { Options = c.Http2 } : null,
                        };
                        // Auto: a connection on which the origin chose http/1.1 goes to the HTTP/1.1 pool.
                        if (c.Protocol == UpstreamProtocol.Auto) pool.Http2!.Http11Fallback = pool;
                        if (pool.Http2 is { } h2)
                        {
                            Gauge.Child h2Gauge = stats.UpstreamActive;
                            h2.OnActiveChanged = delta => h2Gauge.Inc(delta);
                        }
                        Gauge.Child gauge = stats.UpstreamActive;
                        pool.OnActiveChanged = delta => gauge.Inc(delta);
                    }
                    pools[(c.Name, name)] = (pool, settings);
                    endpoints.Add(_endpoints.TryGetValue((c.Name, name), out UpstreamEndpoint? live)
                                  && ReferenceEquals(live.Pool, pool) && live.Weight == e.Weight && live.Host == e.Host
                                  && live.Priority == e.Priority && live.Locality == e.Locality
                        ? live
                        : NewEndpoint(c.Name, e, ip, pool, ReferenceEquals(live?.Pool, pool) ? live : null));
                }
                clusters[c.Name] = new Cluster(c, [.. endpoints], stats, breakers) { Tls = tls[c.Name] };
            }
            return new ClusterSet(clusters, pools);
        }
    }

    /// <summary>The engine limits of a cluster's upstream HTTP/2 connections; the defences stay the engine's defaults.</summary>
    private static Http2ConnectionLimits? Http2Limits(UpstreamHttp2Config? options) => options is null ? null : new Http2ConnectionLimits
    {
        MaxOpenStreams = options.MaxConcurrentStreams is { } max ? (uint)max : uint.MaxValue,
        InitialStreamWindowSize = options.InitialStreamWindowSize,
        ConnectionWindowSize = options.InitialConnectionWindowSize,
        KeepAliveIntervalMs = (long)(options.KeepaliveInterval ?? TimeSpan.Zero).TotalMilliseconds,
        KeepAliveTimeoutMs = (long)options.KeepaliveTimeout.TotalMilliseconds,
    };

    /// <summary>
    /// A new endpoint object: with the health of the one it replaces (same address and pool; other weight, priority or
    /// locality; a host that now resolves elsewhere is another machine and starts afresh), or, if it joins a running
    /// cluster, in slow start from now. Endpoints of the first config start ramped up: when every endpoint is new,
    /// slowing all of them changes no one's share.
    /// </summary>
    private UpstreamEndpoint NewEndpoint(string cluster, EndpointConfig e, IPEndPoint ip, Http1ConnectionPool pool, UpstreamEndpoint? replaced)
    {
        var endpoint = new UpstreamEndpoint(e.Host, e.Port, e.Weight, ip, pool, e.Priority, e.Locality) { Outlier = _health.DetectorFor(cluster) };
        if (replaced is not null) endpoint.CopyHealthFrom(replaced);
        else if (_activated) endpoint.AvailableSince = _health.Time.GetTimestamp();
        return endpoint;
    }

    /// <summary>Makes a built set the live one: new settings apply, pools no longer referenced are drained.</summary>
    public void Activate(ClusterSet set)
    {
        lock (_lock)
        {
            _activated = true;
            _health.Activate(set.Clusters.Values.Select(c => (c.Name, c.Config, c.Endpoints, c.Tls)));
            foreach (KeyValuePair<(string, string), (Http1ConnectionPool Pool, PoolSettings Settings)> p in set.Pools)
            {
                p.Value.Pool.Settings = p.Value.Settings;
                if (p.Value.Pool.Http2 is { } h2) h2.Settings = p.Value.Settings;
            }
            foreach (KeyValuePair<(string, string), Http1ConnectionPool> old in _pools)
                if (!set.Pools.TryGetValue(old.Key, out var kept) || !ReferenceEquals(kept.Pool, old.Value)) old.Value.Drain();
            _pools = set.Pools.ToDictionary(p => p.Key, p => p.Value.Pool);
            var endpoints = new Dictionary<(string, string), UpstreamEndpoint>();
            foreach (Cluster c in set.Clusters.Values)
                foreach (UpstreamEndpoint e in c.Endpoints) endpoints[(c.Name, e.Name)] = e; // a repeated address keeps one
            _endpoints = endpoints;
        }
    }

    public ClusterStats StatsFor(string cluster)
    {
        lock (_lock) return StatsForLocked(cluster);
    }

    private ClusterStats StatsForLocked(string cluster)
    {
        if (!_stats.TryGetValue(cluster, out ClusterStats? stats)) _stats[cluster] = stats = new ClusterStats(cluster);
        return stats;
    }

    public void DrainAll()
    {
        lock (_lock) foreach (Http1ConnectionPool p in _pools.Values) p.Drain();
    }

    /// <summary>Stops health checking (the process is stopping).</summary>
    public void Dispose() => _health.Dispose();

    private void PruneIdle(long now)
    {
        Http1ConnectionPool[] pools;
        lock (_lock) pools = [.. _pools.Values];
        foreach (Http1ConnectionPool p in pools) p.PruneIdle(now);
    }

    private static IPEndPoint? Resolve(EndpointConfig e)
    {
        if (IPAddress.TryParse(e.Host, out IPAddress? ip)) return new IPEndPoint(ip, e.Port);
        try
        {
            IPAddress[] addresses = Dns.GetHostAddresses(e.Host);
            IPAddress? v4 = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
            IPAddress? pick = v4 ?? addresses.FirstOrDefault();
            return pick is null ? null : new IPEndPoint(pick, e.Port);
        }
        catch (SocketException)
        {
            return null;
        }
    }
}

/// <summary>Clusters built from one config, with the pools they use, ready to be activated.</summary>
internal sealed record ClusterSet(
    Dictionary<string, Cluster> Clusters,
    Dictionary<(string Cluster, string Endpoint), (Http1ConnectionPool Pool, PoolSettings Settings)> Pools);
