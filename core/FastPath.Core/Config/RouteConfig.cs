// Virtual hosts and routes: how a request finds its destination and what happens on the way.
namespace FastPath.Config;

public sealed record VirtualHostConfig
{
    public string Name { get; init; } = "";
    public IReadOnlyList<string> Domains { get; init; } = ["*"];
    public IReadOnlyList<RouteConfig> Routes { get; init; } = [];
    /// <summary>HTTP filters for every route of this host; a route's own settings win (HttpFilterConfig.cs).</summary>
    public HttpFiltersConfig Filters { get; init; } = HttpFiltersConfig.None;
}

public sealed record RouteConfig
{
    /// <summary>Optional; shown in the access log's "route" field.</summary>
    public string Name { get; init; } = "";
    public RouteMatchConfig Match { get; init; } = new();
    /// <summary>The shorthand "prefix: /x" on the route itself: the path prefix of <see cref="Match"/>.</summary>
    public string Prefix
    {
        get => Match.Prefix ?? "";
        init => Match = Match with { Prefix = value };
    }
    // The action: exactly one of Cluster, WeightedClusters, Redirect, DirectResponse.
    public string Cluster { get; init; } = "";
    public IReadOnlyList<WeightedClusterConfig>? WeightedClusters { get; init; }
    public RedirectConfig? Redirect { get; init; }
    public DirectResponseConfig? DirectResponse { get; init; }
    /// <summary>Path and Host changes for the forwarded request (Istio HTTPRewrite); forwarding actions only.</summary>
    public RewriteConfig? Rewrite { get; init; }
    /// <summary>Time from the complete request to the end of the upstream's response; zero disables (Envoy: route timeout).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);
    public HttpFiltersConfig Filters { get; init; } = HttpFiltersConfig.None;
    /// <summary>Retry policy; null keeps the one safe retry of a body-less idempotent request on a dead reused connection.</summary>
    public RetryPolicyConfig? Retries { get; init; }
    /// <summary>Largest request body kept for replay on a retry (Envoy per_request_buffer_limit_bytes); a larger one is not retried.</summary>
    public int PerRequestBufferLimitBytes { get; init; } = 64 * 1024;
}

/// <summary>What a request must look like (Envoy RouteMatch, Istio HTTPMatchRequest); every part must hold.</summary>
public sealed record RouteMatchConfig
{
    // The path: exactly one of Prefix, Path (exact) and Regex (full match), on the path without its query.
    public string? Prefix { get; init; } = "/";
    public string? Path { get; init; }
    public string? Regex { get; init; }
    public bool CaseSensitive { get; init; } = true;
    /// <summary>Any of these methods (empty: any method).</summary>
    public IReadOnlyList<string> Methods { get; init; } = [];
    public IReadOnlyList<HeaderMatchConfig> Headers { get; init; } = [];
    public IReadOnlyList<QueryParamMatchConfig> QueryParams { get; init; } = [];
}

/// <summary>One request header test: exactly one of Exact, Prefix, Suffix, Regex, Present, Absent; Invert negates it.</summary>
public sealed record HeaderMatchConfig
{
    public string Name { get; init; } = "";
    public string? Exact { get; init; }
    public string? Prefix { get; init; }
    public string? Suffix { get; init; }
    public string? Regex { get; init; }
    public bool Present { get; init; }
    public bool Absent { get; init; }
    public bool Invert { get; init; }
}

/// <summary>One query parameter test on the raw (undecoded) value: exactly one of Exact, Prefix, Regex, Present.</summary>
public sealed record QueryParamMatchConfig
{
    public string Name { get; init; } = "";
    public string? Exact { get; init; }
    public string? Prefix { get; init; }
    public string? Regex { get; init; }
    public bool Present { get; init; }
}

/// <summary>One destination of a traffic split (Istio HTTPRouteDestination): an integer share of the total weight.</summary>
public sealed record WeightedClusterConfig
{
    public string Cluster { get; init; } = "";
    public int Weight { get; init; }
    /// <summary>Header changes for requests sent to this destination only (Istio HTTPRouteDestination.headers).</summary>
    public HeaderOperationsConfig? RequestHeaders { get; init; }
    public HeaderOperationsConfig? ResponseHeaders { get; init; }
}

/// <summary>An HTTP redirect answered by the proxy (Envoy RedirectAction, Istio HTTPRedirect).</summary>
public sealed record RedirectConfig
{
    public string? Scheme { get; init; }
    public string? Host { get; init; }
    public int? Port { get; init; }
    /// <summary>Replaces the whole path; exclusive with PrefixRewrite.</summary>
    public string? Path { get; init; }
    /// <summary>Replaces the matched prefix (prefix matches only).</summary>
    public string? PrefixRewrite { get; init; }
    public int ResponseCode { get; init; } = 301;
    public bool StripQuery { get; init; }
}

/// <summary>A fixed response answered by the proxy (Envoy DirectResponseAction, Istio HTTPDirectResponse).</summary>
public sealed record DirectResponseConfig
{
    public int Status { get; init; } = 200;
    public string Body { get; init; } = "";
}

/// <summary>Changes to the forwarded request (Istio HTTPRewrite: uri, uriRegexRewrite, authority).</summary>
public sealed record RewriteConfig
{
    /// <summary>Replaces the matched prefix (prefix match) or the whole path (exact and regex matches).</summary>
    public string? Prefix { get; init; }
    public RegexRewriteConfig? Regex { get; init; }
    /// <summary>The Host sent upstream instead of the request's.</summary>
    public string? Host { get; init; }
}

/// <summary>Every match of Pattern in the path is replaced by Substitution (\1 or $1 name capture groups).</summary>
public sealed record RegexRewriteConfig
{
    public string Pattern { get; init; } = "";
    public string Substitution { get; init; } = "";
}
