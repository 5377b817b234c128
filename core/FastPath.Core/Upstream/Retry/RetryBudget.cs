// Envoy's retry budget: retries in flight may be at most max(min_retry_concurrency, budget_percent of the requests
// in flight). Unlike a fixed max_retries it scales with traffic, so retries stay a bounded share of load and cannot
// turn a brown-out into a retry storm.
using FastPath.Config;

namespace FastPath.Upstream.Retry;

internal sealed class RetryBudget(RetryBudgetConfig config)
{
    public double BudgetPercent { get; } = config.BudgetPercent;
    public int MinRetryConcurrency { get; } = config.MinRetryConcurrency;

    /// <summary>Retries that may be in flight while <paramref name="activeRequests"/> requests are.</summary>
    public long MaxActiveRetries(long activeRequests) =>
        Math.Max(MinRetryConcurrency, (long)(activeRequests * BudgetPercent / 100.0));
}
