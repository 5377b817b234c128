// Semantic checks of retry policies, circuit breakers and retry budgets, for configs that did not come through the
// YAML reader (built in code, compiled by the control plane). The reader reports the same mistakes itself; the
// loader drops a repeat for a field it already reported.
namespace FastPath.Config;

internal static class ResilienceValidator
{
    public static void ValidateRoute(RouteConfig r, string path, Action<string, string> error)
    {
        if (r.PerRequestBufferLimitBytes < 0) error($"{path}.per_request_buffer_limit_bytes", "must not be negative");
        if (r.Retries is not { } p) return;
        string rp = $"{path}.retries";
        if (p.Attempts is < 0 or > 10) error($"{rp}.attempts", "must be 0-10");
        if (p.PerTryTimeout < TimeSpan.Zero) error($"{rp}.per_try_timeout", "must not be negative");
        if (p.RetryOn == RetryOn.None) error($"{rp}.retry_on", "name at least one retry condition");
        for (int i = 0; i < p.RetriableStatusCodes.Count; i++)
            if (p.RetriableStatusCodes[i] is < 100 or > 599) error($"{rp}.retriable_status_codes[{i}]", "must be an HTTP status, 100-599");
        if (p.BackoffBaseInterval <= TimeSpan.Zero) error($"{rp}.backoff.base_interval", "must be greater than zero");
        if (p.BackoffMaxInterval is { } max && max < p.BackoffBaseInterval) error($"{rp}.backoff.max_interval", "must not be less than base_interval");
    }

    public static void ValidateCluster(ClusterConfig c, string path, Action<string, string> error)
    {
        CircuitBreakersConfig b = c.CircuitBreakers;
        string bp = $"{path}.circuit_breakers";
        if (b.MaxConnections < 1) error($"{bp}.max_connections", "must be at least 1");
        if (b.MaxPendingRequests < 0) error($"{bp}.max_pending_requests", "must not be negative");
        if (b.MaxRequests < 1) error($"{bp}.max_requests", "must be at least 1");
        if (b.MaxRetries < 0) error($"{bp}.max_retries", "must not be negative");
        if (c.RetryBudget is not { } budget) return;
        if (!(budget.BudgetPercent is >= 0 and <= 100)) error($"{path}.retry_budget.budget_percent", "must be 0-100");
        if (budget.MinRetryConcurrency < 0) error($"{path}.retry_budget.min_retry_concurrency", "must not be negative");
    }
}
