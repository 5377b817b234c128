// The bootstrap model: immutable records read from YAML (or built by a host's quick mode), validated as a whole
// before anything runs. The control service will later compile Istio resources into the same records.
namespace FastPath.Config;

public sealed record GatewayConfig
{
    /// <summary>The file this came from, for error messages and reload; null for a config built in code.</summary>
    public string? SourcePath { get; init; }
    public AdminConfig Admin { get; init; } = new();
    public IReadOnlyList<ListenerConfig> Listeners { get; init; } = [];
    public IReadOnlyList<ClusterConfig> Clusters { get; init; } = [];
    public LimitsConfig Limits { get; init; } = new();
    public AccessLogConfig AccessLog { get; init; } = new();
}

public sealed record AdminConfig
{
    public string Address { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port; -1 disables the admin listener.</summary>
    public int Port { get; init; } = 9901;
}

public sealed record ListenerConfig
{
    public string Name { get; init; } = "";
    public string Address { get; init; } = "127.0.0.1";
    public int Port { get; init; }
    public IReadOnlyList<VirtualHostConfig> VirtualHosts { get; init; } = [];
}

public sealed record VirtualHostConfig
{
    public string Name { get; init; } = "";
    public IReadOnlyList<string> Domains { get; init; } = ["*"];
    public IReadOnlyList<RouteConfig> Routes { get; init; } = [];
}

public sealed record RouteConfig
{
    public string Prefix { get; init; } = "/";
    public string Cluster { get; init; } = "";
    /// <summary>Time from forwarding the request to the upstream's response head; zero disables (Envoy: route timeout).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);
}

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
    public string LbPolicy { get; init; } = "round_robin";
    /// <summary>What ring_hash and maglev hash; null hashes nothing, so those policies pick at random (as Envoy does).</summary>
    public HashPolicyConfig? HashPolicy { get; init; }
    /// <summary>ring_hash's minimum ring size (Envoy: minimum_ring_size); more points spread load more evenly.</summary>
    public int RingSize { get; init; } = 1024;
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

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

public sealed record LimitsConfig
{
    public int MaxRequestLineBytes { get; init; } = 8 * 1024;
    public int MaxHeaderBytes { get; init; } = 60 * 1024;
    public int MaxHeaders { get; init; } = 100;
    /// <summary>From a request's first byte to the end of its head (slowloris defence).</summary>
    public TimeSpan HeaderReadTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>A downstream connection with no request in flight is closed after this.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>
    /// Whole-request bound: from a request's first byte until its body has been received; zero disables it (Envoy's
    /// request_timeout, also off by default). Expiry answers 408 and closes the connection.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.Zero;
    /// <summary>No byte of a body in either direction for this long ends the request (Envoy: stream idle timeout).</summary>
    public TimeSpan StreamIdleTimeout { get; init; } = TimeSpan.FromMinutes(5);
    public int MaxConnections { get; init; } = 100_000;
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Adds a Via field to forwarded requests when set.</summary>
    public string? Via { get; init; }
}

public sealed record AccessLogConfig
{
    /// <summary>"off", "stdout", or a file path.</summary>
    public string Path { get; init; } = "off";
}
