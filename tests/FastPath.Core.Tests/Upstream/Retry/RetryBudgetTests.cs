// Envoy's retry budget: active retries <= max(min_retry_concurrency, budget_percent% of active requests).
using FastPath.Config;
using FastPath.Upstream.Retry;

namespace FastPath.Core.Tests.Upstream.Retry;

public sealed class RetryBudgetTests
{
    [Theory]
    [InlineData(20, 3, 0, 3)]
    [InlineData(20, 3, 10, 3)]
    [InlineData(20, 3, 15, 3)]
    [InlineData(20, 3, 20, 4)]
    [InlineData(20, 3, 100, 20)]
    [InlineData(20, 3, 1000, 200)]
    [InlineData(50, 0, 3, 1)]
    [InlineData(0, 2, 1000, 2)]
    [InlineData(100, 1, 7, 7)]
    public void MaxActiveRetries_PercentOfActiveOrMinimum(double percent, int min, long active, long expected)
    {
        var budget = new RetryBudget(new RetryBudgetConfig { BudgetPercent = percent, MinRetryConcurrency = min });
        Assert.Equal(expected, budget.MaxActiveRetries(active));
    }
}
