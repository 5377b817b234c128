// Resilience in the admin dumps: a route's retry policy and a cluster's breaker thresholds in /config_dump, and in
// /clusters what each breaker has in flight against its threshold (Envoy shows the same under /clusters).
using System.Text.Json;
using FastPath.Config;
using FastPath.Upstream.Clusters;

namespace FastPath.Observability.Admin;

internal sealed partial class AdminServer
{
    private static void WriteRetries(Utf8JsonWriter w, RouteConfig r)
    {
        w.WriteNumber("per_request_buffer_limit_bytes", r.PerRequestBufferLimitBytes);
        if (r.Retries is not { } p) return;
        w.WriteStartObject("retries");
        w.WriteNumber("attempts", p.Attempts);
        w.WriteString("per_try_timeout", Duration(p.PerTryTimeout));
        var names = new List<string>();
        foreach ((string name, RetryOn flag) in GatewayConfigLoader.RetryOnNames)
            if ((p.RetryOn & flag) != 0) names.Add(name);
        w.WriteString("retry_on", string.Join(",", names));
        w.WriteStartArray("retriable_status_codes");
        foreach (int code in p.RetriableStatusCodes) w.WriteNumberValue(code);
        w.WriteEndArray();
        w.WriteStartObject("backoff");
        w.WriteString("base_interval", Duration(p.BackoffBaseInterval));
        w.WriteString("max_interval", Duration(p.BackoffMaxInterval ?? p.BackoffBaseInterval * 10));
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteCircuitBreakers(Utf8JsonWriter w, ClusterConfig c)
    {
        CircuitBreakersConfig b = c.CircuitBreakers;
        w.WriteStartObject("circuit_breakers");
        w.WriteNumber("max_connections", b.MaxConnections);
        w.WriteNumber("max_pending_requests", b.MaxPendingRequests);
        w.WriteNumber("max_requests", b.MaxRequests);
        w.WriteNumber("max_retries", b.MaxRetries);
        w.WriteEndObject();
        if (c.RetryBudget is not { } budget) return;
        w.WriteStartObject("retry_budget");
        w.WriteNumber("budget_percent", budget.BudgetPercent);
        w.WriteNumber("min_retry_concurrency", budget.MinRetryConcurrency);
        w.WriteEndObject();
    }

    private static void WriteBreakerState(Utf8JsonWriter w, CircuitBreakers b)
    {
        w.WriteStartObject("circuit_breakers");
        Resource(w, "connections", b.ActiveConnections, b.MaxConnections);
        Resource(w, "pending_requests", b.ActivePendingRequests, b.MaxPendingRequests);
        Resource(w, "requests", b.ActiveRequests, b.MaxRequests);
        long maxRetries = b.Budget is { } budget ? budget.MaxActiveRetries(b.ActiveRequests) : b.MaxRetries;
        Resource(w, "retries", b.ActiveRetries, maxRetries);
        w.WriteEndObject();
    }

    private static void Resource(Utf8JsonWriter w, string name, long active, long max)
    {
        w.WriteStartObject(name);
        w.WriteNumber("active", active);
        w.WriteNumber("max", max);
        w.WriteEndObject();
    }
}
