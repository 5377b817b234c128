// Everything the request path reads, compiled from one GatewayConfig and swapped atomically. A request reads the
// current snapshot once at its start and finishes on it, whatever reloads happen meanwhile.
using FastPath.Filters.Network;
using FastPath.Filters.Http;
using FastPath.Http1;
using FastPath.Http2;
using FastPath.Http.Normalization;
using FastPath.Routing;
using FastPath.Tls;
using FastPath.Security.Authentication;
using FastPath.Security.Authorization;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Retry;

namespace FastPath.Config;

internal sealed class ProxySnapshot
{
    private static long s_versions;

    private ProxySnapshot(GatewayConfig config, Dictionary<string, Cluster> clusters, Dictionary<string, RouteTable> routes,
        Dictionary<string, Http2ConnectionLimits> http2Limits)
    {
        Config = config;
        Clusters = clusters;
        Routes = routes;
        _http2Limits = http2Limits;
        Version = Interlocked.Increment(ref s_versions);
        LoadedAt = DateTimeOffset.UtcNow;
        LimitsConfig l = config.Limits;
        HeadLimits = new Http1Limits(l.MaxRequestLineBytes, l.MaxHeaderBytes, l.MaxHeaders);
        HeaderReadTimeoutMs = (long)l.HeaderReadTimeout.TotalMilliseconds;
        RequestTimeoutMs = (long)l.RequestTimeout.TotalMilliseconds;
        IdleTimeoutMs = (long)l.IdleTimeout.TotalMilliseconds;
        StreamIdleTimeoutMs = (long)l.StreamIdleTimeout.TotalMilliseconds;
        Via = l.Via is null ? null : System.Text.Encoding.ASCII.GetBytes("1.1 " + l.Via);
        PathNormalization = config.PathNormalization;
    }

    public long Version { get; }
    public DateTimeOffset LoadedAt { get; }
    public GatewayConfig Config { get; }
    public Dictionary<string, Cluster> Clusters { get; }
    /// <summary>The built clusters and pools; ClusterManager.Activate makes them live when this snapshot is.</summary>
    public ClusterSet ClusterSet { get; private init; } = null!;
    /// <summary>
    /// Route table per listener, keyed by <see cref="ListenerKey"/>: a listener is its address and port (a reload that
    /// only renames it keeps the socket and its connections), so routes must not be found by name.
    /// </summary>
    public Dictionary<string, RouteTable> Routes { get; }

    private readonly Dictionary<string, Http2ConnectionLimits> _http2Limits;

    /// <summary>The HTTP/2 limits of the listener a route table (a <see cref="ListenerKey"/> or <see cref="ChainKey"/>)
    /// belongs to: read once per downstream HTTP/2 connection, so a reload applies to new connections.</summary>
    public Http2ConnectionLimits Http2LimitsFor(string routesKey) =>
        _http2Limits.TryGetValue(routesKey, out Http2ConnectionLimits? limits) ? limits : Http2ConnectionLimits.Default;

    public static string ListenerKey(string address, int port) => $"{address}:{port}";

    /// <summary>An HTTP filter chain's route table: its listener's key and its name (unique on the listener).</summary>
    public static string ChainKey(string listenerKey, string chain) => $"{listenerKey}#{chain}";

    /// <summary>Filter chains of the listeners that have any, by ListenerKey; a listener absent here serves HTTP only.</summary>
    public Dictionary<string, ListenerFilterChains> FilterChains { get; private init; } = [];
    public Http1Limits HeadLimits { get; }
    public long HeaderReadTimeoutMs { get; }
    public long RequestTimeoutMs { get; }
    public long IdleTimeoutMs { get; }
    public long StreamIdleTimeoutMs { get; }
    public byte[]? Via { get; }
    /// <summary>Applied to every request path before routing (issue 4).</summary>
    public PathNormalization PathNormalization { get; }
    /// <summary>The JWT rules with their keys; null without request_authentication (then no request pays for it).</summary>
    public RequestAuthenticator? Authenticator { get; private init; }
    /// <summary>The compiled AuthorizationPolicies; null when the config has none (nothing is evaluated).</summary>
    public AuthorizationEngine? Authorization { get; private init; }

    public static ProxySnapshot Build(GatewayConfig config, ClusterManager clusterManager)
    {
        string file = config.SourcePath ?? "(config)";
        List<ConfigError> errors = GatewayConfigValidator.Validate(config, file);
        if (errors.Count > 0) throw new ConfigException(errors);
        RequestAuthenticator? authenticator = RequestAuthenticator.Build(config.RequestAuthentication, file); // before clusters: it may throw
        ClusterSet set = clusterManager.Build(config, file);
        Dictionary<string, Cluster> clusters = set.Clusters;

        var routes = new Dictionary<string, RouteTable>(StringComparer.Ordinal);
        var http2Limits = new Dictionary<string, Http2ConnectionLimits>(StringComparer.Ordinal);
        ListenerConfig? limitsOf = null;
        Http2ConnectionLimits limits = Http2ConnectionLimits.Default;
        foreach ((string routesKey, IReadOnlyList<VirtualHostConfig> virtualHosts, ListenerConfig listener) in RouteTableSources(config))
        {
            // One limits object per listener, shared by its default chain and its HTTP filter chains.
            if (!ReferenceEquals(listener, limitsOf)) (limitsOf, limits) = (listener, listener.Http2.ToLimits());
            http2Limits[routesKey] = limits;
            var domains = new List<(string, VirtualHost)>();
            foreach (VirtualHostConfig v in virtualHosts)
            {
                var filters = new HttpFilterScope(v.Filters, clusters);
                Route[] compiled = v.Routes.Select(r => RouteCompiler.Compile(r, clusters, filters.ChainFor(r.Filters),
                    r.Retries is null ? null : new RetryPolicy(r.Retries, r.PerRequestBufferLimitBytes))).ToArray();
                var host = new VirtualHost(v.Name.Length > 0 ? v.Name : string.Join(",", v.Domains), compiled);
                foreach (string d in v.Domains) domains.Add((d, host));
            }
            routes[routesKey] = new RouteTable(domains);
        }
        var tls = new TlsContextFactory(config, clusterManager.Certificates);
        return new ProxySnapshot(config, clusters, routes, http2Limits)
        {
            ClusterSet = set,
            FilterChains = ListenerFilterChains.Build(config, clusters, tls),
            Authenticator = authenticator,
            Authorization = AuthorizationCompiler.Compile(config),
        };
    }

    /// <summary>Each listener's virtual hosts under its ListenerKey, and each HTTP filter chain's under its ChainKey, with the listener.</summary>
    private static IEnumerable<(string Key, IReadOnlyList<VirtualHostConfig> VirtualHosts, ListenerConfig Listener)> RouteTableSources(GatewayConfig config)
    {
        foreach (ListenerConfig l in config.Listeners)
        {
            string key = ListenerKey(l.Address, l.Port);
            yield return (key, l.VirtualHosts, l);
            foreach (FilterChainConfig chain in l.FilterChains)
                if (chain.TcpProxy is null) yield return (ChainKey(key, chain.Name), chain.VirtualHosts, l);
        }
    }
}
