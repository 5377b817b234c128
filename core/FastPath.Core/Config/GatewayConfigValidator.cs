// Semantic checks over a whole GatewayConfig (references, uniqueness, ranges); every error is reported at once.
using YamlDotNet.Core;

namespace FastPath.Config;

public static partial class GatewayConfigValidator
{
    public static readonly IReadOnlySet<string> LbPolicies = new HashSet<string>
    {
        "round_robin", "random", "least_request", "peak_ewma", "ring_hash", "maglev",
    };

    public static List<ConfigError> Validate(GatewayConfig config, string file, IReadOnlyDictionary<string, Mark>? positions = null)
    {
        var errors = new List<ConfigError>();
        void Error(string path, string message)
        {
            (int line, int column) = Position(positions, path);
            errors.Add(new ConfigError(file, line, column, path, message));
        }

        if (config.Listeners.Count == 0) Error("listeners", "at least one listener is required");
        var clusterNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < config.Clusters.Count; i++)
        {
            ClusterConfig c = config.Clusters[i];
            string p = $"clusters[{i}]";
            if (string.IsNullOrWhiteSpace(c.Name)) Error($"{p}.name", "a cluster needs a name");
            else if (!clusterNames.Add(c.Name)) Error($"{p}.name", $"duplicate cluster name '{c.Name}'");
            if (c.Endpoints.Count == 0) Error($"{p}.endpoints", "a cluster needs at least one endpoint");
            if (!LbPolicies.Contains(c.LbPolicy)) Error($"{p}.lb_policy", $"unknown policy '{c.LbPolicy}' (supported: {string.Join(", ", LbPolicies)})");
            if (c.ConnectTimeout <= TimeSpan.Zero) Error($"{p}.connect_timeout", "must be greater than zero");
            if (c.HashPolicy is { Kind: not HashPolicyKind.SourceIp } hp)
            {
                string hpPath = hp.Kind switch
                {
                    HashPolicyKind.Header => $"{p}.hash_policy.header",
                    HashPolicyKind.QueryParameter => $"{p}.hash_policy.query_parameter",
                    _ => $"{p}.hash_policy.cookie",
                };
                // Header and cookie names are RFC 9110/6265 tokens; a name that cannot occur on the wire would hash
                // nothing, and every request would silently fall back to a random pick.
                if (hp.Kind is HashPolicyKind.Header or HashPolicyKind.Cookie ? !IsToken(hp.Name) : hp.Name.Length == 0)
                    Error(hpPath, $"invalid name '{hp.Name}'");
            }
            if (c.RingSize is < 1 or > 8 * 1024 * 1024) Error($"{p}.ring_size", "must be 1-8388608");
            if (c.Http2 is { } h2) ValidateHttp2Options(c, h2, p, Error);
            HealthConfigValidator.Validate(c, p, Error);
            ResilienceValidator.ValidateCluster(c, p, Error);
            for (int j = 0; j < c.Endpoints.Count; j++)
            {
                EndpointConfig e = c.Endpoints[j];
                string ep = $"{p}.endpoints[{j}]";
                if (e.Port is < 1 or > 65535) Error(ep, $"port must be 1-65535 in '{e}'");
                if (!HostPort.IsIpOrHostName(e.Host)) Error(ep, $"invalid host '{e.Host}'");
            }
        }

        var listenerNames = new HashSet<string>(StringComparer.Ordinal);
        var bound = new HashSet<(string, int)>();
        for (int i = 0; i < config.Listeners.Count; i++)
        {
            ListenerConfig l = config.Listeners[i];
            string p = $"listeners[{i}]";
            if (string.IsNullOrWhiteSpace(l.Name)) Error($"{p}.name", "a listener needs a name");
            else if (!listenerNames.Add(l.Name)) Error($"{p}.name", $"duplicate listener name '{l.Name}'");
            if (!System.Net.IPAddress.TryParse(l.Address, out _)) Error($"{p}.address", $"expected an IP address, got '{l.Address}'");
            if (l.Port is < 1 or > 65535) Error($"{p}.port", "port must be 1-65535");
            else if (!bound.Add((l.Address, l.Port))) Error($"{p}.port", $"{l.Address}:{l.Port} is used by another listener");
            if (l.VirtualHosts.Count == 0 && l.FilterChains.Count == 0) Error($"{p}.virtual_hosts", "at least one virtual host (or a filter chain) is required");
            if (l.Http2.RateInterval <= TimeSpan.Zero) Error($"{p}.http2.rate_interval", "must be greater than zero");
            if (l.Http2.SendStallTimeout <= TimeSpan.Zero) Error($"{p}.http2.send_stall_timeout", "must be greater than zero");
            var domains = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (int j = 0; j < l.VirtualHosts.Count; j++)
            {
                VirtualHostConfig v = l.VirtualHosts[j];
                string vp = $"{p}.virtual_hosts[{j}]";
                if (v.Domains.Count == 0) Error($"{vp}.domains", "at least one domain is required");
                for (int k = 0; k < v.Domains.Count; k++)
                {
                    string d = v.Domains[k];
                    if (!IsValidDomainPattern(d)) Error($"{vp}.domains[{k}]", $"invalid domain pattern '{d}' (exact, '*.suffix', 'prefix*' or '*')");
                    else if (!domains.Add(d)) Error($"{vp}.domains[{k}]", $"domain '{d}' is already used by another virtual host on this listener");
                }
                if (v.Routes.Count == 0) Error($"{vp}.routes", "at least one route is required");
                HttpFilterConfigValidator.Validate(v.Filters, vp, clusterNames, Error);
                for (int k = 0; k < v.Routes.Count; k++)
                {
                    ValidateRoute(v.Routes[k], $"{vp}.routes[{k}]", clusterNames, positions, Error);
                    HttpFilterConfigValidator.Validate(v.Routes[k].Filters, $"{vp}.routes[{k}]", clusterNames, Error);
                    ResilienceValidator.ValidateRoute(v.Routes[k], $"{vp}.routes[{k}]", Error);
                }
            }
        }

        ValidateFilterChains(config, file, positions, clusterNames, errors);
        ValidateTls(config, Error);
        ValidateRequestAuthentication(config.RequestAuthentication, Error);
        AuthorizationConfigValidator.Validate(config, Error);

        LimitsConfig lim = config.Limits;
        if (lim.HeaderReadTimeout <= TimeSpan.Zero) Error("limits.header_read_timeout", "must be greater than zero");
        if (lim.RequestTimeout < TimeSpan.Zero) Error("limits.request_timeout", "must not be negative (0 disables it)");
        if (lim.IdleTimeout <= TimeSpan.Zero) Error("limits.idle_timeout", "must be greater than zero");
        if (lim.StreamIdleTimeout <= TimeSpan.Zero) Error("limits.stream_idle_timeout", "must be greater than zero");
        if (lim.Via is { } via && (via.Length == 0 || via.Any(ch => ch < 0x21 || ch > 0x7e)))
            Error("limits.via", "a via name is one token of visible ASCII");
        if (config.Admin.Port >= 0 && !System.Net.IPAddress.TryParse(config.Admin.Address, out _))
            Error("admin.address", $"expected an IP address, got '{config.Admin.Address}'");
        string log = config.AccessLog.Path;
        if (string.IsNullOrWhiteSpace(log)) Error("access_log.path", "use 'off', 'stdout' or a file path");
        return errors;
    }

    /// <summary>
    /// Where a field was read; for a missing field, where its nearest enclosing field was (a cluster without
    /// endpoints points at the cluster). Line 0 when nothing was read from a file (a config built in code).
    /// </summary>
    private static (int Line, int Column) Position(IReadOnlyDictionary<string, Mark>? positions, string path)
    {
        if (positions is null) return (0, 0);
        for (string p = path; p.Length > 0;)
        {
            if (positions.TryGetValue(p, out Mark m)) return ((int)m.Line, (int)m.Column);
            int cut = Math.Max(p.LastIndexOf('.'), p.LastIndexOf('['));
            if (cut <= 0) break;
            p = p[..cut];
        }
        return (0, 0);
    }

    /// <summary>The http2 block: only with protocol http2, and a keepalive whose interval and timeout are positive.</summary>
    private static void ValidateHttp2Options(ClusterConfig c, UpstreamHttp2Config h2, string p, Action<string, string> error)
    {
        if (c.Protocol == UpstreamProtocol.Http1)
            error($"{p}.http2", $"cluster '{c.Name}' speaks http1: http2 settings apply only with protocol: http2 or auto");
        if (h2.KeepaliveInterval is { } interval)
        {
            if (interval <= TimeSpan.Zero) error($"{p}.http2.connection_keepalive.interval", "must be greater than zero");
            if (h2.KeepaliveTimeout <= TimeSpan.Zero) error($"{p}.http2.connection_keepalive.timeout", "must be greater than zero");
        }
        // Both windows are int-ranged by the loader; a config built in code is checked here too.
        if (h2.InitialStreamWindowSize < UpstreamHttp2Config.MinWindowSize)
            error($"{p}.http2.initial_stream_window_size", $"must be {UpstreamHttp2Config.MinWindowSize}-{UpstreamHttp2Config.MaxWindowSize}");
        if (h2.InitialConnectionWindowSize < UpstreamHttp2Config.MinWindowSize)
            error($"{p}.http2.initial_connection_window_size", $"must be {UpstreamHttp2Config.MinWindowSize}-{UpstreamHttp2Config.MaxWindowSize}");
        if (h2.MaxConcurrentStreams is < 1) error($"{p}.http2.max_concurrent_streams", "must be at least 1");
    }

    /// <summary>RFC 9110 section 5.6.2 token: visible ASCII except delimiters.</summary>
    public static bool IsToken(string s) =>
        s.Length > 0 && s.All(ch => ch is > ' ' and < (char)0x7f && !"\"(),/:;<=>?@[\\]{}".Contains(ch));

    public static bool IsValidDomainPattern(string d)
    {
        if (d == "*") return true;
        if (d.Length == 0 || d.Contains(' ')) return false;
        int stars = d.Count(c => c == '*');
        if (stars == 0) return true;
        return stars == 1 && (d.StartsWith("*.", StringComparison.Ordinal) || d.StartsWith("*-", StringComparison.Ordinal)
                              || d.EndsWith('*') || d.StartsWith('*'));
    }
}
