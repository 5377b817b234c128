// A compiled route: what it matches, what it does with a match (forward to a cluster, split across weighted clusters,
// redirect, answer directly) and how it rewrites the forwarded request. Immutable; shared by every request.
using System.Text;
using System.Text.RegularExpressions;
using FastPath.Http;
using FastPath.LoadBalancing;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Retry;

namespace FastPath.Routing;

internal sealed class Route
{
    public Route(string name, RouteMatch match, long timeoutMs)
    {
        Name = name;
        NameUtf8 = Encoding.UTF8.GetBytes(name);
        Match = match;
        TimeoutMs = timeoutMs;
    }

    /// <summary>The configured name; empty when none was given.</summary>
    public string Name { get; }
    public byte[] NameUtf8 { get; }
    public RouteMatch Match { get; }
    /// <summary>Route timeout in ms (0 = none): from the complete request to the end of the response.</summary>
    public long TimeoutMs { get; }

    // The action: exactly one of Cluster, WeightedClusters, Redirect and DirectResponse is set.
    public Cluster? Cluster { get; init; }
    public WeightedCluster[]? WeightedClusters
    {
        get => _weighted;
        init
        {
            _weighted = value;
            _totalWeight = 0;
            if (value is not null) foreach (WeightedCluster w in value) _totalWeight += w.Weight;
        }
    }
    public RouteRedirect? Redirect { get; init; }
    public RouteDirectResponse? DirectResponse { get; init; }
    public RouteRewrite? Rewrite { get; init; }
    /// <summary>The route's HTTP filters (vhost and route config merged at load), or null when it has none.</summary>
    public RouteFilters? Filters { get; init; }
    /// <summary>The route's retry policy; null: no retries beyond the safe one on a dead reused connection.</summary>
    public RetryPolicy? Retry { get; init; }

    private readonly WeightedCluster[]? _weighted;
    private readonly long _totalWeight;

    /// <summary>Where the request goes: the cluster, or a weighted pick keyed by the request id (so a request retried
    /// with the same x-request-id lands on the same version); null for a local reply (redirect, direct response).</summary>
    public Cluster? PickCluster(ReadOnlySpan<byte> requestId) => PickCluster(requestId, out _);

    /// <summary>As <see cref="PickCluster(ReadOnlySpan{byte})"/>, also giving the weighted destination (null for a plain cluster).</summary>
    public Cluster? PickCluster(ReadOnlySpan<byte> requestId, out WeightedCluster? destination)
    {
        destination = _weighted is null ? null : PickWeighted(XxHash64.Hash(requestId));
        return _weighted is null ? Cluster : destination?.Cluster;
    }

    /// <summary>The destination a 64-bit key selects: key mod total weight, then the cumulative weights in order.</summary>
    public WeightedCluster? PickWeighted(ulong key)
    {
        WeightedCluster[]? all = _weighted;
        if (all is null || _totalWeight <= 0) return null;
        long at = (long)(key % (ulong)_totalWeight);
        foreach (WeightedCluster w in all)
        {
            if (at < w.Weight) return w;
            at -= w.Weight;
        }
        return all[^1];
    }
}

/// <summary>
/// A route's compiled HTTP filter chain, opaque to routing (Envoy's per-route typed_per_filter_config): routing carries
/// it, the connection manager runs it (Filters.Http.HttpFilterChain), so routing never depends on the filters.
/// </summary>
internal abstract class RouteFilters
{
}

/// <summary>One destination of a traffic split. A class so per-destination settings can join it.</summary>
internal sealed class WeightedCluster(Cluster cluster, int weight)
{
    public Cluster Cluster { get; } = cluster;
    public int Weight { get; } = weight;
    /// <summary>Per-destination header changes (Istio: headers on an HTTPRouteDestination), applied after the route's.</summary>
    public HeaderMutation? RequestHeaders { get; init; }
    public HeaderMutation? ResponseHeaders { get; init; }
}

/// <summary>A redirect answered locally; null parts keep the request's.</summary>
internal sealed class RouteRedirect
{
    public required int Status { get; init; }
    /// <summary>"https"; null keeps the request's scheme.</summary>
    public byte[]? Scheme { get; init; }
    public byte[]? Host { get; init; }
    public int Port { get; init; }
    public byte[]? Path { get; init; }
    public byte[]? PrefixRewrite { get; init; }
    public bool StripQuery { get; init; }
}

/// <summary>A fixed response answered locally.</summary>
internal sealed class RouteDirectResponse(int status, byte[] body)
{
    public int Status { get; } = status;
    public byte[] Body { get; } = body;
}

/// <summary>Path and Host changes for the forwarded request.</summary>
internal sealed class RouteRewrite
{
    /// <summary>Replaces the matched prefix (prefix match) or the whole path (exact and regex matches).</summary>
    public byte[]? Prefix { get; init; }
    public Regex? Regex { get; init; }
    /// <summary>.NET substitution syntax ($1); \1 from the config has been translated.</summary>
    public string Substitution { get; init; } = "";
    public byte[]? Host { get; init; }
}
