// The bootstrap model: immutable records read from YAML (or built by a host's quick mode), validated as a whole
// before anything runs. The control service will later compile Istio resources into the same records.
using FastPath.Http.Normalization;

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
    /// <summary>This workload's mesh identity; null: no mesh mTLS.</summary>
    public MeshConfig? Mesh { get; init; }
    public PeerAuthenticationConfig PeerAuthentication { get; init; } = new();
    /// <summary>How request paths are normalised before routing and authorization (Istio's default: BASE).</summary>
    public PathNormalization PathNormalization { get; init; } = PathNormalization.Base;
    /// <summary>JWT rules (Istio RequestAuthentication); null when none are configured.</summary>
    public RequestAuthenticationConfig? RequestAuthentication { get; init; }
    /// <summary>Istio AuthorizationPolicy for this workload (the gateway process), over every listener.</summary>
    public IReadOnlyList<AuthorizationPolicyConfig> AuthorizationPolicies { get; init; } = [];
    /// <summary>
    /// Istio's gatewayTopology.numTrustedProxies (Envoy xff_num_trusted_hops): how many proxies in front of this one
    /// append to x-forwarded-for. 0: remote.ip is the TCP peer; N: the Nth address from the right of x-forwarded-for.
    /// </summary>
    public int NumTrustedProxies { get; init; }
}

public sealed record AdminConfig
{
    public string Address { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port; -1 disables the admin listener.</summary>
    public int Port { get; init; } = 9901;
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
