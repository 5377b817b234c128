// Filter chains (Envoy's listener.filter_chains): which connections a chain takes (match) and what serves them, a
// TCP proxy or HTTP virtual hosts. A listener's own virtual_hosts are its default chain.
namespace FastPath.Config;

public sealed record FilterChainConfig
{
    public string Name { get; init; } = "";
    public FilterChainMatchConfig Match { get; init; } = new();
    /// <summary>Set for an L4 chain: bytes are relayed to a cluster, TLS included (passthrough by SNI).</summary>
    public TcpProxyConfig? TcpProxy { get; init; }
    /// <summary>Set for an HTTP chain: routed like a listener's virtual hosts, with their own route table.</summary>
    public IReadOnlyList<VirtualHostConfig> VirtualHosts { get; init; } = [];
    /// <summary>TLS termination for this chain (Envoy's per-chain transport socket); null: bytes as they arrive.</summary>
    public TlsServerConfig? Tls { get; init; }
}

/// <summary>Every criterion left empty matches anything; the most specific chain wins, level by level (Envoy's order).</summary>
public sealed record FilterChainMatchConfig
{
    public int? DestinationPort { get; init; }
    /// <summary>SNI: exact names and "*.suffix" wildcards (any depth under the suffix), compared without case.</summary>
    public IReadOnlyList<string> ServerNames { get; init; } = [];
    /// <summary>"tls" (a ClientHello was seen) or "raw_buffer" (anything else); null matches both.</summary>
    public string? TransportProtocol { get; init; }
    /// <summary>ALPN protocols offered in the ClientHello ("h2", "http/1.1").</summary>
    public IReadOnlyList<string> ApplicationProtocols { get; init; } = [];
    /// <summary>CIDR ranges of the client address ("10.0.0.0/8", "2001:db8::/32").</summary>
    public IReadOnlyList<string> SourcePrefixRanges { get; init; } = [];

    /// <summary>Whether choosing among chains needs the TLS inspector's peek at the ClientHello.</summary>
    public bool NeedsTlsInspector => ServerNames.Count > 0 || ApplicationProtocols.Count > 0 || TransportProtocol is not null;
}

/// <summary>Envoy's tcp_proxy network filter: one cluster, or several by weight (picked per connection).</summary>
public sealed record TcpProxyConfig
{
    public string? Cluster { get; init; }
    public IReadOnlyList<TcpProxyClusterWeight> WeightedClusters { get; init; } = [];
    /// <summary>No byte in either direction for this long closes both sides (Envoy default 1h); zero disables it.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromHours(1);
}

public sealed record TcpProxyClusterWeight
{
    public string Cluster { get; init; } = "";
    public int Weight { get; init; } = 1;
}
