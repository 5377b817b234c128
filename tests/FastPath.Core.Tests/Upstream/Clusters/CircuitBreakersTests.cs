// Circuit breakers count what a cluster has in flight with Interlocked: a slot past the threshold is refused (and
// counted), every release gives one back, and the counts are shared by the snapshots of one cluster.
using FastPath.Config;
using FastPath.Observability.Stats;
using FastPath.Upstream.Clusters;

namespace FastPath.Core.Tests.Upstream.Clusters;

public sealed class CircuitBreakersTests
{
    private static CircuitBreakers Breakers(CircuitBreakersConfig config, RetryBudgetConfig? budget = null, ClusterResources? resources = null) =>
        new(config, budget, resources ?? new ClusterResources(), new ClusterStats("cb-test-" + Guid.NewGuid().ToString("N")));

    [Fact]
    public void TryAcquireRequest_UpToMax_ThenRefused_ReleaseFreesOne()
    {
        CircuitBreakers b = Breakers(new CircuitBreakersConfig { MaxRequests = 2 });
        Assert.True(b.TryAcquireRequest());
        Assert.True(b.TryAcquireRequest());
        Assert.False(b.TryAcquireRequest());
        Assert.Equal(2, b.ActiveRequests);
        b.ReleaseRequest();
        Assert.True(b.TryAcquireRequest());
        Assert.Equal(2, b.ActiveRequests);
    }

    [Fact]
    public void Overflow_CountedPerResource()
    {
        var stats = new ClusterStats("cb-count-" + Guid.NewGuid().ToString("N"));
        var b = new CircuitBreakers(new CircuitBreakersConfig { MaxConnections = 1, MaxPendingRequests = 0, MaxRequests = 1, MaxRetries = 0 },
            null, new ClusterResources(), stats);
        Assert.True(b.TryAcquireConnection());
        Assert.False(b.TryAcquireConnection());
        Assert.False(b.TryAcquirePending());
        Assert.False(b.TryAcquirePending());
        Assert.True(b.TryAcquireRequest());
        Assert.False(b.TryAcquireRetry());
        Assert.Equal(1, stats.CircuitBreakerOverflow(CircuitBreakerResource.Connections).Value);
        Assert.Equal(2, stats.CircuitBreakerOverflow(CircuitBreakerResource.PendingRequests).Value);
        Assert.Equal(0, stats.CircuitBreakerOverflow(CircuitBreakerResource.Requests).Value);
        Assert.Equal(1, stats.RetryOverflow.Value);
        Assert.Equal(1, stats.CircuitBreakerOverflow(CircuitBreakerResource.Retries).Value);
    }

    [Fact]
    public void TryAcquireRetry_MaxRetries_WithoutBudget()
    {
        CircuitBreakers b = Breakers(new CircuitBreakersConfig { MaxRetries = 3 });
        for (int i = 0; i < 3; i++) Assert.True(b.TryAcquireRetry());
        Assert.False(b.TryAcquireRetry());
        b.ReleaseRetry();
        Assert.True(b.TryAcquireRetry());
    }

    [Fact]
    public void TryAcquireRetry_Budget_ReplacesMaxRetries_AndScalesWithActiveRequests()
    {
        CircuitBreakers b = Breakers(new CircuitBreakersConfig { MaxRetries = 100, MaxRequests = 1000 },
            new RetryBudgetConfig { BudgetPercent = 20, MinRetryConcurrency = 2 });
        // Few requests in flight: the minimum concurrency applies.
        Assert.True(b.TryAcquireRetry());
        Assert.True(b.TryAcquireRetry());
        Assert.False(b.TryAcquireRetry());
        // 20 requests in flight: 20% is 4 retries.
        for (int i = 0; i < 20; i++) Assert.True(b.TryAcquireRequest());
        Assert.True(b.TryAcquireRetry());
        Assert.True(b.TryAcquireRetry());
        Assert.False(b.TryAcquireRetry());
        Assert.Equal(4, b.ActiveRetries);
    }

    [Fact]
    public void SharedResources_NewThresholdsSeeOldCounts()
    {
        var resources = new ClusterResources();
        CircuitBreakers before = Breakers(new CircuitBreakersConfig { MaxRequests = 10 }, resources: resources);
        for (int i = 0; i < 3; i++) Assert.True(before.TryAcquireRequest());
        CircuitBreakers after = Breakers(new CircuitBreakersConfig { MaxRequests = 3 }, resources: resources);
        Assert.False(after.TryAcquireRequest());
        before.ReleaseRequest();
        Assert.True(after.TryAcquireRequest());
    }

    [Fact]
    public async Task TryAcquireRequest_Concurrent_NeverAdmitsPastLimit_AndReleasesToZero()
    {
        CircuitBreakers b = Breakers(new CircuitBreakersConfig { MaxRequests = 8 });
        int admittedAtOnce = 0, peak = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                if (!b.TryAcquireRequest()) continue;
                int now = Interlocked.Increment(ref admittedAtOnce);
                int seen;
                while ((seen = Volatile.Read(ref peak)) < now && Interlocked.CompareExchange(ref peak, now, seen) != seen) { }
                Interlocked.Decrement(ref admittedAtOnce);
                b.ReleaseRequest();
            }
        })));
        Assert.InRange(peak, 1, 8);
        Assert.Equal(0, b.ActiveRequests);
    }
}
