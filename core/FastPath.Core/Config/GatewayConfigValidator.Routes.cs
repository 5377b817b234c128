// Semantic checks of one route: one path kind, one action, valid regexes, known clusters, redirect and response
// codes in range. Regexes are compiled here exactly as the request path will compile them (NonBacktracking), so a
// pattern that construct rejects (backreferences, lookarounds) fails validation, not the first request.
using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace FastPath.Config;

public static partial class GatewayConfigValidator
{
    private static readonly int[] RedirectCodes = [301, 302, 303, 307, 308];
    /// <summary>Envoy's default max_direct_response_body_size_bytes.</summary>
    public const int MaxDirectResponseBody = 4096;

    private static void ValidateRoute(RouteConfig r, string rp, HashSet<string> clusterNames,
        IReadOnlyDictionary<string, Mark>? positions, Action<string, string> error)
    {
        // "prefix" read from the route itself (shorthand) is reported there; otherwise under match.
        string mp = positions is not null && positions.ContainsKey($"{rp}.prefix") ? rp : $"{rp}.match";
        RouteMatchConfig m = r.Match;
        int kinds = (m.Prefix is null ? 0 : 1) + (m.Path is null ? 0 : 1) + (m.Regex is null ? 0 : 1);
        if (kinds > 1) error(mp, "set only one of prefix, path, regex");
        if (m.Prefix is not null && !m.Prefix.StartsWith('/')) error($"{mp}.prefix", $"a path prefix starts with '/', got '{m.Prefix}'");
        if (m.Path is not null && !m.Path.StartsWith('/')) error($"{mp}.path", $"a path starts with '/', got '{m.Path}'");
        if (m.Regex is not null) CheckRegex(m.Regex, $"{mp}.regex", error);
        for (int i = 0; i < m.Methods.Count; i++)
            if (!IsToken(m.Methods[i])) error($"{mp}.methods[{i}]", $"invalid method '{m.Methods[i]}'");
        for (int i = 0; i < m.Headers.Count; i++)
        {
            HeaderMatchConfig h = m.Headers[i];
            string hp = $"{mp}.headers[{i}]";
            if (!IsToken(h.Name)) error($"{hp}.name", $"invalid header name '{h.Name}'");
            int n = (h.Exact is null ? 0 : 1) + (h.Prefix is null ? 0 : 1) + (h.Suffix is null ? 0 : 1) + (h.Regex is null ? 0 : 1)
                    + (h.Present ? 1 : 0) + (h.Absent ? 1 : 0);
            if (n != 1) error(hp, "set exactly one of exact, prefix, suffix, regex, present: true, absent: true");
            if (h.Regex is not null) CheckRegex(h.Regex, $"{hp}.regex", error);
        }
        for (int i = 0; i < m.QueryParams.Count; i++)
        {
            QueryParamMatchConfig q = m.QueryParams[i];
            string qp = $"{mp}.query_params[{i}]";
            if (q.Name.Length == 0) error($"{qp}.name", "a query parameter needs a name");
            int n = (q.Exact is null ? 0 : 1) + (q.Prefix is null ? 0 : 1) + (q.Regex is null ? 0 : 1) + (q.Present ? 1 : 0);
            if (n != 1) error(qp, "set exactly one of exact, prefix, regex, present: true");
            if (q.Regex is not null) CheckRegex(q.Regex, $"{qp}.regex", error);
        }

        bool hasCluster = !string.IsNullOrEmpty(r.Cluster);
        int actions = (hasCluster ? 1 : 0) + (r.WeightedClusters is null ? 0 : 1) + (r.Redirect is null ? 0 : 1) + (r.DirectResponse is null ? 0 : 1);
        if (actions == 0) error($"{rp}.cluster", "a route needs a cluster (or one of weighted_clusters, redirect, direct_response)");
        else if (actions > 1) error(rp, "set only one action: cluster, weighted_clusters, redirect or direct_response");
        if (hasCluster && !clusterNames.Contains(r.Cluster)) error($"{rp}.cluster", $"unknown cluster '{r.Cluster}'");

        if (r.WeightedClusters is { } weighted)
        {
            string wp = $"{rp}.weighted_clusters";
            if (weighted.Count == 0) error(wp, "at least one cluster is required");
            long total = 0;
            for (int i = 0; i < weighted.Count; i++)
            {
                WeightedClusterConfig w = weighted[i];
                if (string.IsNullOrEmpty(w.Cluster)) error($"{wp}[{i}].cluster", "a destination needs a cluster");
                else if (!clusterNames.Contains(w.Cluster)) error($"{wp}[{i}].cluster", $"unknown cluster '{w.Cluster}'");
                if (w.Weight < 0) error($"{wp}[{i}].weight", "must not be negative");
                else total += w.Weight;
                if (w.RequestHeaders is { } rq) HttpFilterConfigValidator.ValidateHeaders(rq, $"{wp}[{i}].request_headers", request: true, error);
                if (w.ResponseHeaders is { } rs) HttpFilterConfigValidator.ValidateHeaders(rs, $"{wp}[{i}].response_headers", request: false, error);
            }
            if (weighted.Count > 0 && total == 0) error(wp, "the weights add up to 0: at least one must be positive");
        }

        if (r.Redirect is { } redirect)
        {
            string dp = $"{rp}.redirect";
            if (Array.IndexOf(RedirectCodes, redirect.ResponseCode) < 0)
                error($"{dp}.response_code", $"must be one of 301, 302, 303, 307, 308, got {redirect.ResponseCode}");
            if (redirect.Scheme is not null && redirect.Scheme.ToLowerInvariant() is not ("http" or "https"))
                error($"{dp}.scheme", $"expected http or https, got '{redirect.Scheme}'");
            if (redirect.Host is not null && (!HostPort.IsIpOrHostName(redirect.Host.Trim('[', ']')) || IsBareIpv6(redirect.Host)))
                error($"{dp}.host", $"invalid host '{redirect.Host}' (the port goes in 'port'; IPv6 in brackets)");
            if (redirect.Port is < 1 or > 65535) error($"{dp}.port", "port must be 1-65535");
            if (redirect.Path is not null && redirect.PrefixRewrite is not null) error(dp, "set only one of path, prefix_rewrite");
            if (redirect.Path is not null && !IsPath(redirect.Path)) error($"{dp}.path", $"a path starts with '/' and has no spaces or '?', got '{redirect.Path}'");
            if (redirect.PrefixRewrite is not null)
            {
                if (!IsPath(redirect.PrefixRewrite)) error($"{dp}.prefix_rewrite", $"a path starts with '/' and has no spaces or '?', got '{redirect.PrefixRewrite}'");
                if (m.Prefix is null) error($"{dp}.prefix_rewrite", "replaces the matched prefix: the route must match a prefix");
            }
        }

        if (r.DirectResponse is { } direct)
        {
            string dp = $"{rp}.direct_response";
            if (direct.Status is < 200 or > 599) error($"{dp}.status", $"must be 200-599, got {direct.Status}");
            if (direct.Status is 204 or 304 && direct.Body.Length > 0) error($"{dp}.body", $"a {direct.Status} response has no body");
            if (System.Text.Encoding.UTF8.GetByteCount(direct.Body) > MaxDirectResponseBody)
                error($"{dp}.body", $"at most {MaxDirectResponseBody} bytes");
        }

        if (r.Rewrite is { } rewrite)
        {
            string wp = $"{rp}.rewrite";
            if (r.Redirect is not null || r.DirectResponse is not null) error(wp, "rewrites a forwarded request: the route must forward (cluster or weighted_clusters)");
            if (rewrite.Prefix is not null && rewrite.Regex is not null) error(wp, "set only one of prefix, regex");
            if (rewrite.Prefix is not null && !IsPath(rewrite.Prefix)) error($"{wp}.prefix", $"a path starts with '/' and has no spaces or '?', got '{rewrite.Prefix}'");
            if (rewrite.Regex is { } rx)
            {
                if (rx.Pattern.Length == 0) error($"{wp}.regex.pattern", "a pattern is required");
                else CheckRegex(rx.Pattern, $"{wp}.regex.pattern", error);
            }
            if (rewrite.Host is not null && (!IsAuthority(rewrite.Host) || IsBareIpv6(rewrite.Host)))
                error($"{wp}.host", $"invalid host '{rewrite.Host}' (host or host:port; IPv6 in brackets)");
        }

        if (r.Timeout < TimeSpan.Zero) error($"{rp}.timeout", "must not be negative");
    }

    private static void CheckRegex(string pattern, string path, Action<string, string> error)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            error(path, $"invalid regex: {e.Message}");
        }
    }

    /// <summary>An IPv6 literal written without brackets cannot be told from host:port in a URL or Host field.</summary>
    private static bool IsBareIpv6(string s) => s.Count(c => c == ':') > 1 && !s.StartsWith('[');

    private static bool IsPath(string s) => s.StartsWith('/') && !s.Any(c => c <= ' ' || c == '?' || c >= 0x7f);

    /// <summary>host or host:port, as a Host field value.</summary>
    private static bool IsAuthority(string s) =>
        HostPort.TryParse(s, out string host, out _) ? HostPort.IsIpOrHostName(host) : HostPort.IsIpOrHostName(s);
}
