// Builds the filter chains of one virtual host's routes when config loads. The host's own factories are built once
// and shared by every route that does not configure that filter itself (so a host-level rate_limit is one bucket for
// all its routes); a route's setting replaces the host's (Envoy typed_per_filter_config / Istio semantics), except
// header operations, where both apply, the host's first, so the route's win where they touch the same name.
//
// Order on the request (reverse on the response): cors, fault, rate_limit, header mutation, mirror — then the router.
// CORS first so preflights are answered whatever else is configured (Envoy's advice); the mirror last so the copy
// carries the mutated headers, as Envoy's router shadows the request it forwards.
using FastPath.Config;
using FastPath.Http;
using FastPath.LoadBalancing;
using FastPath.Upstream.Clusters;

namespace FastPath.Filters.Http;

/// <summary>Time and randomness for the filters, injected so tests run deterministically (STYLE.md).</summary>
internal sealed record HttpFilterEnvironment(TimeProvider Time, IRandomSource Random)
{
    public static readonly HttpFilterEnvironment Default = new(TimeProvider.System, ThreadLocalRandom.Instance);
}

internal sealed class HttpFilterScope
{
    private readonly IReadOnlyDictionary<string, Cluster> _clusters;
    private readonly HttpFilterEnvironment _env;
    private readonly HeaderMutation? _requestHeaders;
    private readonly HeaderMutation? _responseHeaders;
    private readonly HttpFilterFactory? _cors;
    private readonly HttpFilterFactory? _fault;
    private readonly HttpFilterFactory? _rateLimit;
    private readonly HttpFilterFactory? _mirror;

    public HttpFilterScope(HttpFiltersConfig virtualHost, IReadOnlyDictionary<string, Cluster> clusters, HttpFilterEnvironment? env = null)
    {
        _clusters = clusters;
        _env = env ?? HttpFilterEnvironment.Default;
        _requestHeaders = virtualHost.RequestHeaders?.Compile();
        _responseHeaders = virtualHost.ResponseHeaders?.Compile();
        _cors = Cors(virtualHost.Cors);
        _fault = Fault(virtualHost.Fault);
        _rateLimit = RateLimit(virtualHost.RateLimit);
        _mirror = Mirror(virtualHost.Mirror);
    }

    /// <summary>The chain for a route of this host, or null when neither configures any filter.</summary>
    public HttpFilterChain? ChainFor(HttpFiltersConfig route)
    {
        var factories = new List<HttpFilterFactory>(5);
        if ((route.Cors is null ? _cors : Cors(route.Cors)) is { } cors) factories.Add(cors);
        if ((route.Fault is null ? _fault : Fault(route.Fault)) is { } fault) factories.Add(fault);
        if ((route.RateLimit is null ? _rateLimit : RateLimit(route.RateLimit)) is { } rateLimit) factories.Add(rateLimit);
        HeaderMutation[] request = Both(_requestHeaders, route.RequestHeaders?.Compile());
        HeaderMutation[] response = Both(_responseHeaders, route.ResponseHeaders?.Compile());
        if (request.Length + response.Length > 0) factories.Add(new HeaderMutationFilterFactory(request, response));
        if ((route.Mirror is null ? _mirror : Mirror(route.Mirror)) is { } mirror) factories.Add(mirror);
        return factories.Count == 0 ? null : new HttpFilterChain(factories.ToArray());
    }

    private static HeaderMutation[] Both(HeaderMutation? outer, HeaderMutation? inner) =>
        (outer, inner) switch
        {
            (null, null) => [],
            (null, _) => [inner],
            (_, null) => [outer],
            _ => [outer, inner],
        };

    private static CorsFilterFactory? Cors(CorsConfig? c) => c is null ? null : new CorsFilterFactory(new CorsPolicy(c));

    private FaultFilterFactory? Fault(FaultConfig? f) => f is null ? null : new FaultFilterFactory(
        f.Delay?.FixedDelay ?? TimeSpan.Zero, f.Delay?.Percentage ?? 0, f.Abort?.HttpStatus ?? 0, f.Abort?.Percentage ?? 0, _env.Time, _env.Random);

    private LocalRateLimitFilterFactory? RateLimit(RateLimitConfig? r) => r is null ? null
        : new LocalRateLimitFilterFactory(new TokenBucket(r.MaxTokens, r.TokensPerFill, r.FillInterval, _env.Time), r.ResponseHeaders);

    private MirrorFilterFactory? Mirror(MirrorConfig? m) => m is null || !_clusters.TryGetValue(m.Cluster, out Cluster? cluster) ? null
        : new MirrorFilterFactory(cluster, m.Percentage, m.MaxInFlight, m.Timeout, m.MaxBodyBytes, _env.Random);
}
