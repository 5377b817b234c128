// HTTP filter settings on a virtual host or a route (merged at load, the route winning): header mutation, fault
// injection, local rate limit, CORS and request mirroring. Istio's names and semantics where Istio has the feature.
namespace FastPath.Config;

/// <summary>The built-in filters configured at one scope; null members are not configured there.</summary>
public sealed record HttpFiltersConfig
{
    public static readonly HttpFiltersConfig None = new();

    public HeaderOperationsConfig? RequestHeaders { get; init; }
    public HeaderOperationsConfig? ResponseHeaders { get; init; }
    public FaultConfig? Fault { get; init; }
    public RateLimitConfig? RateLimit { get; init; }
    public CorsConfig? Cors { get; init; }
    public MirrorConfig? Mirror { get; init; }
}

/// <summary>Istio Headers.HeaderOperations: set replaces, add appends, remove deletes (applied remove, set, add).</summary>
public sealed record HeaderOperationsConfig
{
    public IReadOnlyList<KeyValuePair<string, string>> Set { get; init; } = [];
    public IReadOnlyList<KeyValuePair<string, string>> Add { get; init; } = [];
    public IReadOnlyList<string> Remove { get; init; } = [];

    /// <summary>The operations compiled for the request path; null when there are none to apply.</summary>
    internal FastPath.Http.HeaderMutation? Compile() =>
        new FastPath.Http.HeaderMutation(Remove, Set, Add) is { IsEmpty: false } m ? m : null;
}

/// <summary>Istio HTTPFaultInjection: a delay, an abort, or both (the delay first, as Envoy's fault filter does).</summary>
public sealed record FaultConfig
{
    public FaultDelayConfig? Delay { get; init; }
    public FaultAbortConfig? Abort { get; init; }
}

public sealed record FaultDelayConfig
{
    public TimeSpan FixedDelay { get; init; }
    /// <summary>Share of requests delayed, 0-100 (fractions allowed); Istio's default when unset is 100.</summary>
    public double Percentage { get; init; } = 100;
}

public sealed record FaultAbortConfig
{
    public int HttpStatus { get; init; }
    public double Percentage { get; init; } = 100;
}

/// <summary>Envoy local_ratelimit: a token bucket shared by every request of its scope (virtual host or route).</summary>
public sealed record RateLimitConfig
{
    /// <summary>Bucket sizes up to 2^24 - 1: the bucket packs its tokens and fill count into one word.</summary>
    public const int MaxTokensLimit = (1 << 24) - 1;

    public int MaxTokens { get; init; }
    /// <summary>Envoy's default is 1.</summary>
    public int TokensPerFill { get; init; } = 1;
    public TimeSpan FillInterval { get; init; }
    /// <summary>x-ratelimit-* on allowed responses too (Envoy enable_x_ratelimit_headers: DRAFT_VERSION_03); 429s always carry them.</summary>
    public bool ResponseHeaders { get; init; }
}

/// <summary>Istio CorsPolicy.</summary>
public sealed record CorsConfig
{
    public IReadOnlyList<StringMatchConfig> AllowOrigins { get; init; } = [];
    public IReadOnlyList<string> AllowMethods { get; init; } = [];
    public IReadOnlyList<string> AllowHeaders { get; init; } = [];
    public IReadOnlyList<string> ExposeHeaders { get; init; } = [];
    public TimeSpan? MaxAge { get; init; }
    public bool AllowCredentials { get; init; }
}

public enum StringMatchKind
{
    Exact,
    Prefix,
    Regex,
}

/// <summary>Istio StringMatch: one of exact, prefix or regex (a full match, as RE2 in Envoy).</summary>
public sealed record StringMatchConfig(StringMatchKind Kind, string Value);

/// <summary>Istio mirror + mirrorPercentage: a copy of the request goes to another cluster; its answer is dropped.</summary>
public sealed record MirrorConfig
{
    public string Cluster { get; init; } = "";
    public double Percentage { get; init; } = 100;
    /// <summary>Mirrored requests in flight at once for this scope; beyond it copies are dropped (and counted).</summary>
    public int MaxInFlight { get; init; } = 64;
    /// <summary>How long a mirrored request may take before it is abandoned.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Largest request body copied (buffered while it streams, Envoy's default buffer limit); a larger body
    /// is not mirrored. 0 mirrors only requests without a body.</summary>
    public int MaxBodyBytes { get; init; } = 64 * 1024;

    /// <summary>Upper bound for <see cref="MaxBodyBytes"/>: every mirrored body in flight is held in memory.</summary>
    public const int MaxBodyBytesLimit = 64 * 1024 * 1024;
}
