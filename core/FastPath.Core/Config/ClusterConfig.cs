// Clusters: upstream endpoints, their pools, balancing and resilience settings.
using FastPath.Http2;

namespace FastPath.Config;

public sealed record ClusterConfig
{
    public string Name { get; init; } = "";
    public IReadOnlyList<EndpointConfig> Endpoints { get; init; } = [];
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public int MaxConnectionsPerEndpoint { get; init; } = 1024;
    /// <summary>
    /// Requests that may wait for a connection when an endpoint's pool is full (Envoy's max_pending_requests); each
    /// waits at most connect_timeout. Beyond it, or after the wait, 503 with flag UO.
    /// </summary>
    public int MaxPendingRequests { get; init; } = 1024;
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>
    /// Requests an upstream connection carries before it is retired (Envoy's max_requests_per_connection, Istio's
    /// connectionPool.http.maxRequestsPerConnection): an HTTP/1.1 connection closes after that many responses, an
    /// HTTP/2 one opens no more streams and closes once they end. 0: no limit; 1 turns upstream keep-alive off.
    /// </summary>
    public int MaxRequestsPerConnection { get; init; }
    public string LbPolicy { get; init; } = "round_robin";
    /// <summary>What ring_hash and maglev hash; null hashes nothing, so those policies pick at random (as Envoy does).</summary>
    public HashPolicyConfig? HashPolicy { get; init; }
    /// <summary>ring_hash's minimum ring size (Envoy: minimum_ring_size); more points spread load more evenly.</summary>
    public int RingSize { get; init; } = 1024;
    public HealthCheckConfig? HealthCheck { get; init; }
    public OutlierDetectionConfig? OutlierDetection { get; init; }
    public SlowStartConfig? SlowStart { get; init; }
    /// <summary>Envoy's healthy_panic_threshold, in percent; 0 turns panic mode off.</summary>
    public int HealthyPanicThreshold { get; init; } = 50;
    /// <summary>Cluster-wide limits on connections, pending requests, requests and retries in flight.</summary>
    public CircuitBreakersConfig CircuitBreakers { get; init; } = new();
    /// <summary>Retries allowed as a share of requests in flight; null: max_retries alone limits them.</summary>
    public RetryBudgetConfig? RetryBudget { get; init; }
    /// <summary>TLS origination to the endpoints; null: plaintext.</summary>
    public UpstreamTlsConfig? Tls { get; init; }
    /// <summary>What the cluster's endpoints speak: HTTP/1.1 (pooled connections) or HTTP/2 (multiplexed streams, h2c or h2 over TLS).</summary>
    public UpstreamProtocol Protocol { get; init; } = UpstreamProtocol.Http1;
    /// <summary>HTTP/2 connection settings for protocol: http2 (or auto); null: the defaults.</summary>
    public UpstreamHttp2Config? Http2 { get; init; }
}

/// <summary>HTTP/2 to a cluster's endpoints (Envoy's cluster http2_protocol_options and connection_keepalive).</summary>
public sealed record UpstreamHttp2Config
{
    // RFC 9113 §6.9.2: the initial window every peer may assume before SETTINGS, and the largest a window can be.
    public const int MinWindowSize = (int)Http2Settings.DefaultInitialWindowSize;
    public const int MaxWindowSize = (int)Http2Settings.MaxWindowSize;

    /// <summary>Streams opened at once per connection, below the origin's SETTINGS_MAX_CONCURRENT_STREAMS; null: the origin's.</summary>
    public int? MaxConcurrentStreams { get; init; }
    /// <summary>Response body one stream may have in flight to us (SETTINGS_INITIAL_WINDOW_SIZE we advertise).</summary>
    public int InitialStreamWindowSize { get; init; } = 256 * 1024;
    /// <summary>Response body all streams of a connection together may have in flight to us.</summary>
    public int InitialConnectionWindowSize { get; init; } = 1024 * 1024;
    /// <summary>How often a connection sends a keepalive PING; null: none (connection_keepalive absent).</summary>
    public TimeSpan? KeepaliveInterval { get; init; }
    /// <summary>How long a keepalive PING may go unanswered (extended by any frame received) before the connection is closed.</summary>
    public TimeSpan KeepaliveTimeout { get; init; } = TimeSpan.FromSeconds(20);
}

public enum UpstreamProtocol
{
    Http1,
    Http2,
    /// <summary>Envoy's auto: over TLS, ALPN picks h2 or http/1.1 for each endpoint.</summary>
    Auto,
}

public enum HashPolicyKind
{
    None,
    Header,
    SourceIp,
    QueryParameter,
    Cookie,
}

/// <summary>One request field whose hash keys consistent load balancing; Name is empty for SourceIp.</summary>
public sealed record HashPolicyConfig
{
    public HashPolicyKind Kind { get; init; }
    public string Name { get; init; } = "";
}

public sealed record EndpointConfig
{
    public string Host { get; init; } = "";
    public int Port { get; init; }
    public int Weight { get; init; } = 1;
    /// <summary>0 is the highest; lower levels get traffic as the higher ones lose healthy endpoints.</summary>
    public int Priority { get; init; }
    /// <summary>"region/zone/subzone" (any suffix may be left out); "" when unknown.</summary>
    public string Locality { get; init; } = "";

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
