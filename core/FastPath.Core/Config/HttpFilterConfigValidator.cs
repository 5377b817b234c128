// Semantic checks of the HTTP filter settings of one virtual host or route (and of per-destination headers);
// GatewayConfigValidator calls these with its error sink, so every problem is reported at once with its field path.
using System.Text.RegularExpressions;

namespace FastPath.Config;

public static class HttpFilterConfigValidator
{
    /// <summary>
    /// Fields the proxy owns: framing and hop-by-hop fields (RFC 9110 section 7.6.1) would desynchronise the
    /// connection, and Host and the x-forwarded-* / x-request-id fields are written by the proxy itself.
    /// </summary>
    private static readonly HashSet<string> ProxyOwned = new(StringComparer.OrdinalIgnoreCase)
    {
        "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te", "upgrade", "trailer",
    };

    private static readonly HashSet<string> ProxyOwnedRequest = new(StringComparer.OrdinalIgnoreCase)
    {
        "host", "expect", "x-forwarded-for", "x-forwarded-proto", "x-request-id",
    };

    private static readonly TimeSpan MinFillInterval = TimeSpan.FromMilliseconds(50);

    public static void Validate(HttpFiltersConfig f, string path, IReadOnlySet<string> clusters, Action<string, string> error)
    {
        if (f.RequestHeaders is { } rq) ValidateHeaders(rq, $"{path}.request_headers", request: true, error);
        if (f.ResponseHeaders is { } rs) ValidateHeaders(rs, $"{path}.response_headers", request: false, error);
        if (f.Fault is { } fault) ValidateFault(fault, $"{path}.fault", error);
        if (f.RateLimit is { } rl) ValidateRateLimit(rl, $"{path}.rate_limit", error);
        if (f.Cors is { } cors) ValidateCors(cors, $"{path}.cors", error);
        if (f.Mirror is { } mirror) ValidateMirror(mirror, $"{path}.mirror", clusters, error);
    }

    /// <summary>Also for per-destination headers (request_headers / response_headers on a weighted cluster).</summary>
    public static void ValidateHeaders(HeaderOperationsConfig h, string path, bool request, Action<string, string> error)
    {
        foreach ((string name, string value) in h.Set) CheckField(name, value, $"{path}.set.{name}", request, error);
        foreach ((string name, string value) in h.Add) CheckField(name, value, $"{path}.add.{name}", request, error);
        for (int i = 0; i < h.Remove.Count; i++) CheckField(h.Remove[i], "", $"{path}.remove[{i}]", request, error);
    }

    private static void CheckField(string name, string value, string path, bool request, Action<string, string> error)
    {
        if (!GatewayConfigValidator.IsToken(name)) error(path, $"invalid header name '{name}'");
        else if (ProxyOwned.Contains(name) || (request && ProxyOwnedRequest.Contains(name)))
            error(path, $"'{name}' is managed by the proxy and cannot be changed");
        // CR, LF or NUL in a value would split the field: header injection (RFC 9110 section 5.5).
        if (value.Any(ch => ch is '\r' or '\n' or '\0' || (ch < ' ' && ch != '\t') || ch == (char)0x7f))
            error(path, "a header value must not contain control characters");
    }

    private static void ValidateFault(FaultConfig f, string path, Action<string, string> error)
    {
        if (f.Delay is null && f.Abort is null) error(path, "give a delay, an abort or both");
        if (f.Delay is { } d)
        {
            if (d.FixedDelay <= TimeSpan.Zero) error($"{path}.delay.fixed_delay", "a delay needs a fixed_delay greater than zero");
            CheckPercentage(d.Percentage, $"{path}.delay.percentage", error);
        }
        if (f.Abort is { } a)
        {
            if (a.HttpStatus is < 200 or > 599) error($"{path}.abort.http_status", "an abort needs an http_status from 200 to 599");
            CheckPercentage(a.Percentage, $"{path}.abort.percentage", error);
        }
    }

    private static void ValidateRateLimit(RateLimitConfig r, string path, Action<string, string> error)
    {
        if (r.MaxTokens is < 1 or > RateLimitConfig.MaxTokensLimit) error($"{path}.max_tokens", $"must be 1-{RateLimitConfig.MaxTokensLimit}");
        if (r.TokensPerFill is < 1 or > RateLimitConfig.MaxTokensLimit) error($"{path}.tokens_per_fill", $"must be 1-{RateLimitConfig.MaxTokensLimit}");
        // Envoy's floor: a shorter interval refills faster than the bucket can meaningfully be shared.
        if (r.FillInterval < MinFillInterval) error($"{path}.fill_interval", "must be at least 50ms");
    }

    private static void ValidateCors(CorsConfig c, string path, Action<string, string> error)
    {
        if (c.AllowOrigins.Count == 0) error($"{path}.allow_origins", "at least one origin match is required");
        for (int i = 0; i < c.AllowOrigins.Count; i++)
        {
            StringMatchConfig m = c.AllowOrigins[i];
            string p = $"{path}.allow_origins[{i}]";
            if (m.Kind == StringMatchKind.Regex)
            {
                try
                {
                    _ = new Regex(m.Value, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
                }
                catch (Exception e) when (e is ArgumentException or NotSupportedException)
                {
                    error($"{p}.regex", $"invalid regex: {e.Message}");
                }
            }
            else if (m.Value.Length == 0) error(p, "an empty origin matches nothing");
        }
        for (int i = 0; i < c.AllowMethods.Count; i++)
            if (!GatewayConfigValidator.IsToken(c.AllowMethods[i])) error($"{path}.allow_methods[{i}]", $"invalid method '{c.AllowMethods[i]}'");
        for (int i = 0; i < c.AllowHeaders.Count; i++)
            if (!GatewayConfigValidator.IsToken(c.AllowHeaders[i]) && c.AllowHeaders[i] != "*") error($"{path}.allow_headers[{i}]", $"invalid header name '{c.AllowHeaders[i]}'");
        for (int i = 0; i < c.ExposeHeaders.Count; i++)
            if (!GatewayConfigValidator.IsToken(c.ExposeHeaders[i]) && c.ExposeHeaders[i] != "*") error($"{path}.expose_headers[{i}]", $"invalid header name '{c.ExposeHeaders[i]}'");
        if (c.MaxAge < TimeSpan.Zero) error($"{path}.max_age", "must not be negative");
    }

    private static void ValidateMirror(MirrorConfig m, string path, IReadOnlySet<string> clusters, Action<string, string> error)
    {
        if (string.IsNullOrEmpty(m.Cluster)) error($"{path}.cluster", "a mirror needs a cluster");
        else if (!clusters.Contains(m.Cluster)) error($"{path}.cluster", $"unknown cluster '{m.Cluster}'");
        CheckPercentage(m.Percentage, $"{path}.percentage", error);
        if (m.MaxInFlight < 1) error($"{path}.max_in_flight", "must be at least 1");
        if (m.Timeout <= TimeSpan.Zero) error($"{path}.timeout", "must be greater than zero");
        if (m.MaxBodyBytes is < 0 or > MirrorConfig.MaxBodyBytesLimit) error($"{path}.max_body_bytes", $"must be from 0 to {MirrorConfig.MaxBodyBytesLimit}");
    }

    private static void CheckPercentage(double p, string path, Action<string, string> error)
    {
        if (!(p >= 0 && p <= 100)) error(path, "must be from 0 to 100");
    }
}
