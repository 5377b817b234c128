// Compiles validated RouteConfig records into Routes: literals to bytes, regexes built once (NonBacktracking),
// cluster names resolved against the snapshot's clusters.
using System.Text;
using System.Text.RegularExpressions;
using FastPath.Config;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Retry;

namespace FastPath.Routing;

internal static partial class RouteCompiler
{
    public static Route Compile(RouteConfig config, IReadOnlyDictionary<string, Cluster> clusters, RouteFilters? filters = null,
        RetryPolicy? retry = null)
    {
        var route = new Route(config.Name, CompileMatch(config.Match), (long)config.Timeout.TotalMilliseconds)
        {
            Cluster = config.Cluster.Length > 0 ? clusters[config.Cluster] : null,
            WeightedClusters = config.WeightedClusters?.Select(w => new WeightedCluster(clusters[w.Cluster], w.Weight)
            {
                RequestHeaders = w.RequestHeaders?.Compile(),
                ResponseHeaders = w.ResponseHeaders?.Compile(),
            }).ToArray(),
            Redirect = config.Redirect is { } r ? CompileRedirect(r) : null,
            DirectResponse = config.DirectResponse is { } d ? new RouteDirectResponse(d.Status, Encoding.UTF8.GetBytes(d.Body)) : null,
            Rewrite = config.Rewrite is { } w ? CompileRewrite(w) : null,
            Filters = filters,
            Retry = retry,
        };
        return route;
    }

    public static RouteMatch CompileMatch(RouteMatchConfig m)
    {
        (PathMatchKind kind, string path) = m.Regex is not null ? (PathMatchKind.Regex, m.Regex)
            : m.Path is not null ? (PathMatchKind.Exact, m.Path)
            : (PathMatchKind.Prefix, m.Prefix ?? "/");
        return new RouteMatch(kind, path, m.CaseSensitive)
        {
            Methods = m.Methods.Select(Encoding.ASCII.GetBytes).ToArray(),
            Headers = m.Headers.Select(h => new HeaderMatcher(h.Name, Kind(h), h.Exact ?? h.Prefix ?? h.Suffix ?? h.Regex, h.Invert)).ToArray(),
            QueryParams = m.QueryParams.Select(q => new QueryParamMatcher(q.Name, Kind(q), q.Exact ?? q.Prefix ?? q.Regex)).ToArray(),
        };
    }

    private static ValueMatchKind Kind(HeaderMatchConfig h) =>
        h.Exact is not null ? ValueMatchKind.Exact
        : h.Prefix is not null ? ValueMatchKind.Prefix
        : h.Suffix is not null ? ValueMatchKind.Suffix
        : h.Regex is not null ? ValueMatchKind.Regex
        : h.Absent ? ValueMatchKind.Absent
        : ValueMatchKind.Present;

    private static ValueMatchKind Kind(QueryParamMatchConfig q) =>
        q.Exact is not null ? ValueMatchKind.Exact
        : q.Prefix is not null ? ValueMatchKind.Prefix
        : q.Regex is not null ? ValueMatchKind.Regex
        : ValueMatchKind.Present;

    private static RouteRedirect CompileRedirect(RedirectConfig r) => new()
    {
        Status = r.ResponseCode,
        Scheme = Bytes(r.Scheme?.ToLowerInvariant()),
        Host = Bytes(r.Host),
        Port = r.Port ?? 0,
        Path = Bytes(r.Path),
        PrefixRewrite = Bytes(r.PrefixRewrite),
        StripQuery = r.StripQuery,
    };

    private static RouteRewrite CompileRewrite(RewriteConfig w) => new()
    {
        Prefix = Bytes(w.Prefix),
        Regex = w.Regex is null ? null : RouteRegex.Compile(w.Regex.Pattern, caseSensitive: true, fullMatch: false),
        Substitution = w.Regex is null ? "" : ToDotNetSubstitution(w.Regex.Substitution),
        Host = Bytes(w.Host),
    };

    /// <summary>Envoy and Istio write capture groups as \1 (RE2); .NET as $1. \N becomes ${N}; $ syntax passes.</summary>
    public static string ToDotNetSubstitution(string substitution) => BackslashGroup().Replace(substitution, "$${$1}");

    private static byte[]? Bytes(string? s) => s is null ? null : Encoding.UTF8.GetBytes(s);

    [GeneratedRegex(@"\\(\d+)")]
    private static partial Regex BackslashGroup();
}
