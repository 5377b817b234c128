// A listener: where it binds and what it serves.
namespace FastPath.Config;

public sealed record ListenerConfig
{
    public string Name { get; init; } = "";
    public string Address { get; init; } = "127.0.0.1";
    public int Port { get; init; }
    public IReadOnlyList<VirtualHostConfig> VirtualHosts { get; init; } = [];
    /// <summary>Chains chosen per connection by port, SNI, transport, ALPN and source; VirtualHosts is the default chain.</summary>
    public IReadOnlyList<FilterChainConfig> FilterChains { get; init; } = [];
    /// <summary>How long the TLS inspector waits for a whole ClientHello (Envoy's listener_filters_timeout, 15s).</summary>
    public TimeSpan ListenerFiltersTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>On that timeout, go on without SNI/ALPN instead of closing (Envoy's default is to close).</summary>
    public bool ContinueOnListenerFiltersTimeout { get; init; }
    /// <summary>TLS termination for the listener's own virtual hosts; null: plaintext, or as peer_authentication says.</summary>
    public TlsServerConfig? Tls { get; init; }
    /// <summary>HTTP/2 settings and attack limits for the listener's downstream connections (all its chains).</summary>
    public Http2ProtocolConfig Http2 { get; init; } = new();
}
