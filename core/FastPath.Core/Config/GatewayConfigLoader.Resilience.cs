// Reads the resilience settings: a route's retry policy, a cluster's circuit breakers and retry budget.
using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    /// <summary>retry_on values, Envoy's spelling (x-envoy-retry-on).</summary>
    public static readonly IReadOnlyDictionary<string, RetryOn> RetryOnNames = new Dictionary<string, RetryOn>(StringComparer.Ordinal)
    {
        ["5xx"] = RetryOn.FiveXx,
        ["gateway-error"] = RetryOn.GatewayError,
        ["reset"] = RetryOn.Reset,
        ["connect-failure"] = RetryOn.ConnectFailure,
        ["retriable-4xx"] = RetryOn.Retriable4xx,
        ["refused-stream"] = RetryOn.RefusedStream,
        ["retriable-status-codes"] = RetryOn.RetriableStatusCodes,
        // gRPC statuses (Envoy x-envoy-retry-grpc-on); Istio's retryOn mixes them with the HTTP conditions.
        ["cancelled"] = RetryOn.GrpcCancelled,
        ["deadline-exceeded"] = RetryOn.GrpcDeadlineExceeded,
        ["resource-exhausted"] = RetryOn.GrpcResourceExhausted,
        ["unavailable"] = RetryOn.GrpcUnavailable,
        ["internal"] = RetryOn.GrpcInternal,
    };

    /// <summary>Parses "5xx,reset,..." (commas, optional spaces); unknown names are listed in <paramref name="unknown"/>.</summary>
    public static RetryOn ParseRetryOn(string value, out List<string> unknown)
    {
        unknown = [];
        RetryOn on = RetryOn.None;
        foreach (string part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (RetryOnNames.TryGetValue(part, out RetryOn flag)) on |= flag;
            else unknown.Add(part);
        }
        return on;
    }

    private sealed partial class Reader
    {
        private RetryPolicyConfig ReadRetries(YamlNode node, string path)
        {
            var r = new RetryPolicyConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "attempts", "per_try_timeout", "retry_on", "retriable_status_codes", "backoff"))
            {
                string p = $"{path}.{key}";
                r = key switch
                {
                    // Envoy caps num_retries nowhere; 10 keeps a misconfiguration from multiplying load tenfold and more.
                    "attempts" => r with { Attempts = Int(value, p, 0, 10) },
                    "per_try_timeout" => r with { PerTryTimeout = Duration(value, p) },
                    "retry_on" => r with { RetryOn = ReadRetryOn(value, p) },
                    "retriable_status_codes" => r with { RetriableStatusCodes = List(value, p, (n, q) => Int(n, q, 100, 599)) },
                    _ => ReadBackoff(value, p, r),
                };
            }
            // Envoy ignores the list without the condition; here that mistake is an error, not a silent no-op.
            if (node is YamlMappingNode map && map.Children.ContainsKey(new YamlScalarNode("retriable_status_codes"))
                && (r.RetryOn & RetryOn.RetriableStatusCodes) == 0)
            {
                Error(map.Children[new YamlScalarNode("retriable_status_codes")], $"{path}.retriable_status_codes",
                    "has no effect unless retry_on includes retriable-status-codes");
            }
            return r;
        }

        private RetryOn ReadRetryOn(YamlNode node, string path)
        {
            // A list of names is accepted as well as Envoy's comma-separated string.
            string? s = node is YamlSequenceNode seq
                ? string.Join(",", seq.Children.Select((n, i) => Scalar(n, $"{path}[{i}]") ?? ""))
                : Scalar(node, path);
            if (s is null) return RetryOn.None;
            RetryOn on = ParseRetryOn(s, out List<string> unknown);
            foreach (string u in unknown)
                Error(node, path, $"unknown retry condition '{u}' (expected any of: {string.Join(", ", RetryOnNames.Keys)})");
            if (unknown.Count == 0 && on == RetryOn.None) Error(node, path, "name at least one retry condition");
            return on;
        }

        private RetryPolicyConfig ReadBackoff(YamlNode node, string path, RetryPolicyConfig r)
        {
            foreach ((string key, YamlNode value) in Fields(node, path, "base_interval", "max_interval"))
            {
                string p = $"{path}.{key}";
                TimeSpan d = Duration(value, p);
                if (d <= TimeSpan.Zero && value is YamlScalarNode { Value: { } s } && DurationParser.TryParse(s, out _))
                    Error(value, p, "must be greater than zero");
                r = key == "base_interval" ? r with { BackoffBaseInterval = d } : r with { BackoffMaxInterval = d };
            }
            if (r.BackoffMaxInterval is { } max && max > TimeSpan.Zero && max < r.BackoffBaseInterval)
                Error(node, $"{path}.max_interval", "must not be less than base_interval");
            return r;
        }

        private CircuitBreakersConfig ReadCircuitBreakers(YamlNode node, string path)
        {
            var c = new CircuitBreakersConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "max_connections", "max_pending_requests", "max_requests", "max_retries"))
            {
                string p = $"{path}.{key}";
                c = key switch
                {
                    "max_connections" => c with { MaxConnections = Int(value, p, 1, 10_000_000) },
                    "max_pending_requests" => c with { MaxPendingRequests = Int(value, p, 0, 10_000_000) },
                    "max_requests" => c with { MaxRequests = Int(value, p, 1, 10_000_000) },
                    _ => c with { MaxRetries = Int(value, p, 0, 10_000_000) },
                };
            }
            return c;
        }

        private RetryBudgetConfig ReadRetryBudget(YamlNode node, string path)
        {
            var b = new RetryBudgetConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "budget_percent", "min_retry_concurrency"))
            {
                string p = $"{path}.{key}";
                if (key == "min_retry_concurrency")
                {
                    b = b with { MinRetryConcurrency = Int(value, p, 0, 10_000_000) };
                    continue;
                }
                string? s = Scalar(value, p);
                if (s is null) continue;
                if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double percent) || !(percent is >= 0 and <= 100))
                    Error(value, p, $"expected a percentage from 0 to 100, got '{s}'");
                else b = b with { BudgetPercent = percent };
            }
            return b;
        }
    }
}
