// A listener's compiled filter chains (part of the config snapshot): the matcher, what each chain runs, the default
// chain (the listener's own virtual hosts) and the listener-filter settings. A connection keeps the chain it was
// given for its whole life, whatever reloads happen meanwhile.
using System.Text;
using FastPath.Config;
using FastPath.Observability.Stats;
using FastPath.Tls;
using FastPath.Upstream.Clusters;
using Prometheus;

namespace FastPath.Filters.Network;

internal sealed class FilterChain(string name, string? routesKey, TcpProxyFactory? tcpProxy, DownstreamTlsContext? tls = null)
{
    public string Name { get; } = name;
    public byte[] NameUtf8 { get; } = Encoding.UTF8.GetBytes(name);
    /// <summary>HTTP chains: the key of their route table in ProxySnapshot.Routes.</summary>
    public string? RoutesKey { get; } = routesKey;
    /// <summary>L4 chains: relays bytes to a cluster.</summary>
    public TcpProxyFactory? TcpProxy { get; } = tcpProxy;
    /// <summary>TLS termination before the chain's filters (its own tls, or PeerAuthentication); null: bytes as they come.</summary>
    public DownstreamTlsContext? Tls { get; } = tls;
}

internal sealed class ListenerFilterChains
{
    private readonly FilterChainMatcher _matcher;
    private readonly FilterChain[] _chains;

    private ListenerFilterChains(ListenerConfig listener, FilterChainMatcher matcher, FilterChain[] chains, FilterChain? defaultChain)
    {
        ListenerName = listener.Name;
        _matcher = matcher;
        _chains = chains;
        Default = defaultChain;
        // Terminating chains peek too: plaintext on a TLS-only chain is then closed and counted as such, and
        // PERMISSIVE tells TLS from plaintext by the same peek (as Istio's inbound listener does).
        NeedsTlsInspector = listener.FilterChains.Any(c => c.Match.NeedsTlsInspector) || chains.Any(c => c.Tls is not null) || defaultChain?.Tls is not null;
        ListenerFiltersTimeoutMs = (long)listener.ListenerFiltersTimeout.TotalMilliseconds;
        ContinueOnListenerFiltersTimeout = listener.ContinueOnListenerFiltersTimeout;
        NoMatch = NetworkMetrics.NoFilterChainMatch.WithLabels(listener.Name);
    }

    public string ListenerName { get; }
    /// <summary>The listener's own virtual hosts (Envoy's default_filter_chain); null when it has none.</summary>
    public FilterChain? Default { get; }
    /// <summary>Whether some chain matches on SNI, ALPN or transport, so connections are peeked at first.</summary>
    public bool NeedsTlsInspector { get; }
    public long ListenerFiltersTimeoutMs { get; }
    public bool ContinueOnListenerFiltersTimeout { get; }
    public Counter.Child NoMatch { get; }

    public FilterChain? Select(in FilterChainQuery query)
    {
        int i = _matcher.Select(query);
        return i >= 0 ? _chains[i] : Default;
    }

    /// <summary>
    /// Compiles the chains of every listener that has any, or that terminates TLS (its own tls, or PeerAuthentication
    /// STRICT/PERMISSIVE): such a listener gets a default chain with no others. Config already validated.
    /// </summary>
    public static Dictionary<string, ListenerFilterChains> Build(GatewayConfig config, Dictionary<string, Cluster> clusters, TlsContextFactory tls)
    {
        var result = new Dictionary<string, ListenerFilterChains>(StringComparer.Ordinal);
        for (int i = 0; i < config.Listeners.Count; i++)
        {
            ListenerConfig l = config.Listeners[i];
            string p = $"listeners[{i}]";
            DownstreamTlsContext? listenerTls = l.Tls is { } lt ? tls.Downstream(lt, $"{p}.tls")
                : l.FilterChains.Count == 0 ? tls.PeerAuthentication(l.Port, p) : null;
            if (l.FilterChains.Count == 0 && listenerTls is null) continue;
            string key = ProxySnapshot.ListenerKey(l.Address, l.Port);
            FilterChainMatcher matcher = FilterChainMatcher.Build([.. l.FilterChains.Select(c => c.Match)], out _);
            var chains = new FilterChain[l.FilterChains.Count];
            for (int j = 0; j < chains.Length; j++)
            {
                FilterChainConfig c = l.FilterChains[j];
                DownstreamTlsContext? chainTls = c.Tls is null ? null : tls.Downstream(c.Tls, $"{p}.filter_chains[{j}].tls");
                chains[j] = c.TcpProxy is { } t
                    ? new FilterChain(c.Name, null, new TcpProxyFactory(t, clusters), chainTls)
                    : new FilterChain(c.Name, ProxySnapshot.ChainKey(key, c.Name), null, chainTls);
            }
            FilterChain? fallback = l.VirtualHosts.Count > 0 ? new FilterChain("default", key, null, listenerTls) : null;
            result[key] = new ListenerFilterChains(l, matcher, chains, fallback);
        }
        return result;
    }
}
