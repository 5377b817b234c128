// Semantic checks of a cluster's health, priority and slow-start settings, called by GatewayConfigValidator.
namespace FastPath.Config;

internal static class HealthConfigValidator
{
    /// <summary>Envoy supports slow start only for the policies that draw by weight.</summary>
    private static readonly string[] SlowStartPolicies = ["round_robin", "least_request", "random"];

    public static void Validate(ClusterConfig c, string p, Action<string, string> error)
    {
        if (c.HealthCheck is { } hc)
        {
            string hp = $"{p}.health_check";
            if (hc.Interval <= TimeSpan.Zero) error($"{hp}.interval", "must be greater than zero");
            if (hc.Timeout <= TimeSpan.Zero) error($"{hp}.timeout", "must be greater than zero");
            if (hc.IntervalJitter < TimeSpan.Zero) error($"{hp}.interval_jitter", "must not be negative");
            if (hc.HealthyThreshold < 1) error($"{hp}.healthy_threshold", "must be at least 1");
            if (hc.UnhealthyThreshold < 1) error($"{hp}.unhealthy_threshold", "must be at least 1");
            if (hc.Http is { } http)
            {
                // The path goes on the wire as the request target: origin-form, visible ASCII only.
                if (!http.Path.StartsWith('/') || http.Path.Any(ch => ch <= ' ' || ch >= 0x7f))
                    error($"{hp}.http.path", $"expected an origin-form path such as /healthz, got '{http.Path}'");
                if (http.Host is { } host && (host.Length == 0 || host.Any(ch => ch <= ' ' || ch >= 0x7f)))
                    error($"{hp}.http.host", $"invalid host '{host}'");
                if (http.ExpectedStatuses.Count == 0) error($"{hp}.http.expected_statuses", "list at least one status or range");
            }
            if (hc.Grpc is { } grpc)
            {
                if (grpc.Authority is { } authority && (authority.Length == 0 || authority.Any(ch => ch <= ' ' || ch >= 0x7f)))
                    error($"{hp}.grpc.authority", $"invalid authority '{authority}'");
                if (grpc.ServiceName.Length > 1024 || grpc.ServiceName.Any(char.IsControl))
                    error($"{hp}.grpc.service_name", "a service name is at most 1024 characters, without control characters");
            }
        }
        if (c.OutlierDetection is { } od)
        {
            string op = $"{p}.outlier_detection";
            if (od.Interval <= TimeSpan.Zero) error($"{op}.interval", "must be greater than zero");
            if (od.BaseEjectionTime <= TimeSpan.Zero) error($"{op}.base_ejection_time", "must be greater than zero");
            if (od.Consecutive5xx < 0) error($"{op}.consecutive_5xx", "must not be negative (0 turns it off)");
            if (od.ConsecutiveGatewayErrors < 0) error($"{op}.consecutive_gateway_errors", "must not be negative (0 turns it off)");
            if (od.MaxEjectionPercent is < 0 or > 100) error($"{op}.max_ejection_percent", "must be 0-100");
            if (od.MinHealthPercent is < 0 or > 100) error($"{op}.min_health_percent", "must be 0-100");
        }
        if (c.SlowStart is { } ss)
        {
            string sp = $"{p}.slow_start";
            if (ss.Window <= TimeSpan.Zero) error($"{sp}.window", "must be greater than zero");
            if (!(ss.Aggression > 0)) error($"{sp}.aggression", "must be greater than zero");
            if (ss.MinWeightPercent is < 0 or > 100) error($"{sp}.min_weight_percent", "must be 0-100");
            if (Array.IndexOf(SlowStartPolicies, c.LbPolicy) < 0)
                error(sp, $"slow start works with {string.Join(", ", SlowStartPolicies)}, not '{c.LbPolicy}'");
        }
        if (c.HealthyPanicThreshold is < 0 or > 100) error($"{p}.healthy_panic_threshold", "must be 0-100 (0 turns panic mode off)");
        for (int j = 0; j < c.Endpoints.Count; j++)
        {
            EndpointConfig e = c.Endpoints[j];
            if (e.Priority is < 0 or > 127) error($"{p}.endpoints[{j}].priority", "must be 0-127 (0 is the highest)");
            if (e.Locality.Length > 0 && (e.Locality.Split('/').Length > 3 || e.Locality.Split('/').Any(s => s.Length == 0)
                                          || e.Locality.Any(ch => ch <= ' ' || ch >= 0x7f)))
                error($"{p}.endpoints[{j}].locality", $"expected region, region/zone or region/zone/subzone, got '{e.Locality}'");
        }
    }
}
