// One request's retry decisions: attempts honoured, URX when they run out, no retry without a replayable body,
// the retry breaker refusing, per-try versus route timeout, and every breaker slot released by End.
using FastPath.Config;
using FastPath.LoadBalancing;
using FastPath.Observability.Stats;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Retry;

namespace FastPath.Core.Tests.Upstream.Retry;

public sealed class RetryStateTests
{
    private static Cluster Cluster(CircuitBreakersConfig? breakers = null, RetryBudgetConfig? budget = null) =>
        new(new ClusterConfig { Name = "c", CircuitBreakers = breakers ?? new CircuitBreakersConfig(), RetryBudget = budget }, [],
            new ClusterStats("retry-state-" + Guid.NewGuid().ToString("N")));

    private static RetryPolicy Policy(int attempts = 2, string retryOn = "5xx", long perTryMs = 0) => new(new RetryPolicyConfig
    {
        Attempts = attempts,
        RetryOn = GatewayConfigLoader.ParseRetryOn(retryOn, out _),
        PerTryTimeout = TimeSpan.FromMilliseconds(perTryMs),
        BackoffBaseInterval = TimeSpan.FromMilliseconds(25),
        BackoffMaxInterval = TimeSpan.FromMilliseconds(250),
    }, 65536, new SeededRandom(1));

    [Fact]
    public void ShouldRetryStatus_AttemptsHonoured_ThenLimitExceeded()
    {
        Cluster cluster = Cluster();
        var state = new RetryState();
        Assert.True(state.Begin(cluster, Policy(attempts: 2)));

        Assert.True(state.ShouldRetryStatus(503, -1, true, null, 0, out bool exceeded));
        Assert.False(exceeded);
        Assert.InRange(state.BackoffMs, 0, 24);
        Assert.True(state.ShouldRetryStatus(503, -1, true, null, 0, out exceeded));
        Assert.InRange(state.BackoffMs, 0, 49);
        Assert.False(state.ShouldRetryStatus(503, -1, true, null, 0, out exceeded));
        Assert.True(exceeded);
        Assert.Equal(2, state.Retries);
        Assert.Equal(2, cluster.Stats.Retries.Value);
        Assert.Equal(1, cluster.Stats.RetryLimitExceeded.Value);
    }

    [Fact]
    public void ShouldRetryStatus_NotMatching_NoRetryNoUrx()
    {
        var state = new RetryState();
        state.Begin(Cluster(), Policy(retryOn: "connect-failure"));
        Assert.False(state.ShouldRetryStatus(500, -1, true, null, 0, out bool exceeded));
        Assert.False(exceeded);
    }

    [Fact]
    public void ShouldRetryStatus_BodyNotReplayable_NoRetry()
    {
        var state = new RetryState();
        state.Begin(Cluster(), Policy());
        Assert.False(state.ShouldRetryStatus(503, -1, replayable: false, null, 0, out bool exceeded));
        Assert.False(exceeded);
    }

    [Fact]
    public void ShouldRetryStatus_SuccessAfterRetry_CountsRetrySuccess()
    {
        Cluster cluster = Cluster();
        var state = new RetryState();
        state.Begin(cluster, Policy());
        Assert.True(state.ShouldRetryStatus(503, -1, true, null, 0, out _));
        Assert.False(state.ShouldRetryStatus(200, -1, true, null, 0, out _));
        Assert.Equal(1, cluster.Stats.RetrySuccess.Value);
    }

    [Fact]
    public void ShouldRetry_RetryBreakerFull_RefusedAndHeldSlotReleasedWhenTryEnds()
    {
        Cluster cluster = Cluster(new CircuitBreakersConfig { MaxRetries = 1 });
        var first = new RetryState();
        var second = new RetryState();
        first.Begin(cluster, Policy());
        second.Begin(cluster, Policy());

        Assert.True(first.ShouldRetryStatus(503, -1, true, null, 0, out _));
        Assert.Equal(1, cluster.Breakers.ActiveRetries);
        Assert.False(second.ShouldRetryStatus(503, -1, true, null, 0, out bool exceeded));
        Assert.False(exceeded); // refused by the breaker, not by the retry count: no URX
        Assert.Equal(1, cluster.Stats.RetryOverflow.Value);

        // The first request's retry answered: its slot is free again.
        Assert.False(first.ShouldRetryStatus(200, -1, true, null, 0, out _));
        Assert.Equal(0, cluster.Breakers.ActiveRetries);
        Assert.True(second.ShouldRetryStatus(503, -1, true, null, 0, out _));
    }

    [Fact]
    public void Begin_MaxRequestsReached_Refused_EndReleases()
    {
        Cluster cluster = Cluster(new CircuitBreakersConfig { MaxRequests = 1 });
        var a = new RetryState();
        var b = new RetryState();
        Assert.True(a.Begin(cluster, null));
        Assert.False(b.Begin(cluster, null));
        a.End();
        a.End(); // idempotent
        Assert.Equal(0, cluster.Breakers.ActiveRequests);
        Assert.True(b.Begin(cluster, null));
    }

    [Fact]
    public void End_WithRetryInFlight_ReleasesRequestAndRetry()
    {
        Cluster cluster = Cluster();
        var state = new RetryState();
        state.Begin(cluster, Policy());
        Assert.True(state.ShouldRetryError(ProxyError.UpstreamReset, true, null, 0, out _));
        Assert.Equal(1, cluster.Breakers.ActiveRetries);
        state.End();
        Assert.Equal(0, cluster.Breakers.ActiveRetries);
        Assert.Equal(0, cluster.Breakers.ActiveRequests);
        Assert.Null(state.Policy);
        Assert.Equal(0, state.Retries);
    }

    [Fact]
    public void TryTimeoutMs_PerTryShorter_PerTryBoundAndRetriable()
    {
        var state = new RetryState();
        state.Begin(Cluster(), Policy(perTryMs: 200));
        Assert.Equal(200, state.TryTimeoutMs(routeTimeoutMs: 1000, now: 10_000));
        Assert.True(state.PerTryBound);
        Assert.True(state.ShouldRetryError(ProxyError.UpstreamTimeout, true, null, 10_200, out _));
    }

    [Fact]
    public void TryTimeoutMs_RouteDeadlineSpansTries_RouteTimeoutNotRetried()
    {
        var state = new RetryState();
        state.Begin(Cluster(), Policy(attempts: 5, perTryMs: 400));
        Assert.Equal(400, state.TryTimeoutMs(1000, now: 10_000)); // the route timeout starts here: deadline 11 000
        Assert.Equal(11_000, state.DeadlineTicks);
        Assert.True(state.ShouldRetryError(ProxyError.UpstreamTimeout, true, null, 10_400, out _));
        Assert.Equal(400, state.TryTimeoutMs(1000, now: 10_450));
        Assert.True(state.ShouldRetryError(ProxyError.UpstreamTimeout, true, null, 10_850, out _));
        // Less than a per-try timeout is left: the route's deadline bounds this try, and its expiry is final.
        Assert.Equal(100, state.TryTimeoutMs(1000, now: 10_900));
        Assert.False(state.PerTryBound);
        Assert.False(state.ShouldRetryError(ProxyError.UpstreamTimeout, true, null, 11_000, out bool exceeded));
        Assert.False(exceeded);
        Assert.True(state.DeadlinePassed(11_000));
    }

    [Fact]
    public void TakeBackoff_CutToRouteDeadline()
    {
        var state = new RetryState();
        state.Begin(Cluster(), new RetryPolicy(new RetryPolicyConfig
        {
            RetryOn = RetryOn.FiveXx, BackoffBaseInterval = TimeSpan.FromSeconds(10), BackoffMaxInterval = TimeSpan.FromSeconds(10),
        }, 0, new SeededRandom(3)));
        state.TryTimeoutMs(10, now: 1000);
        Assert.True(state.ShouldRetryStatus(503, -1, true, null, 1000, out _));
        long drawn = state.BackoffMs;
        Assert.InRange(drawn, 0, 9999);
        Assert.Equal(Math.Min(drawn, 10), state.TakeBackoff(now: 1000));
        Assert.Equal(0, state.BackoffMs);
    }

    [Fact]
    public void ShouldRetry_AfterRouteDeadline_NoRetry()
    {
        var state = new RetryState();
        state.Begin(Cluster(), Policy());
        state.TryTimeoutMs(100, now: 0);
        Assert.False(state.ShouldRetryStatus(503, -1, true, null, 100, out _));
    }

    [Fact]
    public void ShouldRetry_RemembersEndpointToAvoid()
    {
        var endpoint = new UpstreamEndpoint("127.0.0.1", 1, 1, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1),
            new FastPath.Upstream.Pools.Http1ConnectionPool("127.0.0.1:1", new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1), null!,
                new FastPath.Upstream.Pools.PoolSettings(1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))));
        var state = new RetryState();
        state.Begin(Cluster(), Policy());
        Assert.True(state.ShouldRetryError(ProxyError.UpstreamConnectFailure, true, endpoint, 0, out _));
        Assert.Same(endpoint, state.AvoidEndpoint);
    }
}
