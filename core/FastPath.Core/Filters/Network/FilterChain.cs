// A listener's compiled filter chains (part of the config snapshot): the matcher, what each chain runs, the default
// chain (the listener's own virtual hosts) and the listener-filter settings. A connection keeps the chain it was
// given for its whole life, whatever reloads happen meanwhile.
using System.Text;
using FastPath.Config;
using FastPath.Observability.Stats;
using FastPath.Upstream.Clusters;
using Prometheus;

namespace FastPath.Filters.Network;

internal sealed class FilterChain(string name, string? routesKey, TcpProxyFactory? tcpProxy)
{
    public string Name { get; } = name;
    public byte[] NameUtf8 { get; } = Encoding.UTF8.GetBytes(name);
    /// <summary>HTTP chains: the key of their route table in ProxySnapshot.Routes.</summary>
    public string? RoutesKey { get; } = routesKey;
    /// <summary>L4 chains: relays bytes to a cluster.</summary>
    public TcpProxyFactory? TcpProxy { get; } = tcpProxy;
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
        NeedsTlsInspector = listener.FilterChains.Any(c => c.Match.NeedsTlsInspector);
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

    /// <summary>Compiles the chains of every listener that has any (config already validated).</summary>
    public static Dictionary<string, ListenerFilterChains> Build(GatewayConfig config, Dictionary<string, Cluster> clusters)
    {
        var result = new Dictionary<string, ListenerFilterChains>(StringComparer.Ordinal);
        foreach (ListenerConfig l in config.Listeners)
        {
            if (l.FilterChains.Count == 0) continue;
            string key = ProxySnapshot.ListenerKey(l.Address, l.Port);
            FilterChainMatcher matcher = FilterChainMatcher.Build([.. l.FilterChains.Select(c => c.Match)], out _);
            FilterChain[] chains = [.. l.FilterChains.Select(c => c.TcpProxy is { } t
                ? new FilterChain(c.Name, null, new TcpProxyFactory(t, clusters))
                : new FilterChain(c.Name, ProxySnapshot.ChainKey(key, c.Name), null))];
            FilterChain? fallback = l.VirtualHosts.Count > 0 ? new FilterChain("default", key, null) : null;
            result[key] = new ListenerFilterChains(l, matcher, chains, fallback);
        }
        return result;
    }
}
