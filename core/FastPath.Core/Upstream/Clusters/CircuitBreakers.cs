// Envoy's circuit breakers for one cluster: limits on connections, pending requests, requests and retries in
// flight, counted with Interlocked (no lock on the request path). The counts live in ClusterResources, one per
// cluster name for the process's life, so requests and connections that began under an older snapshot release
// what they took into the same counters a reload's new thresholds compare against.
using FastPath.Config;
using FastPath.Observability.Stats;
using FastPath.Upstream.Retry;

namespace FastPath.Upstream.Clusters;

/// <summary>What a cluster has in flight; fields so Interlocked can update them.</summary>
internal sealed class ClusterResources
{
    public int Connections;
    public int PendingRequests;
    public int Requests;
    public int Retries;
}

internal sealed class CircuitBreakers
{
    private readonly ClusterResources _resources;
    private readonly ClusterStats? _stats;

    public CircuitBreakers(CircuitBreakersConfig config, RetryBudgetConfig? budget, ClusterResources resources, ClusterStats? stats = null)
    {
        MaxConnections = config.MaxConnections;
        MaxPendingRequests = config.MaxPendingRequests;
        MaxRequests = config.MaxRequests;
        MaxRetries = config.MaxRetries;
        Budget = budget is null ? null : new RetryBudget(budget);
        _resources = resources;
        _stats = stats;
    }

    public int MaxConnections { get; }
    public int MaxPendingRequests { get; }
    public int MaxRequests { get; }
    public int MaxRetries { get; }
    public RetryBudget? Budget { get; }
    public ClusterResources Resources => _resources;

    public int ActiveConnections => Volatile.Read(ref _resources.Connections);
    public int ActivePendingRequests => Volatile.Read(ref _resources.PendingRequests);
    public int ActiveRequests => Volatile.Read(ref _resources.Requests);
    public int ActiveRetries => Volatile.Read(ref _resources.Retries);

    public bool TryAcquireConnection() => TryAcquire(ref _resources.Connections, MaxConnections, CircuitBreakerResource.Connections);
    public void ReleaseConnection() => Interlocked.Decrement(ref _resources.Connections);

    public bool TryAcquirePending() => TryAcquire(ref _resources.PendingRequests, MaxPendingRequests, CircuitBreakerResource.PendingRequests);
    public void ReleasePending() => Interlocked.Decrement(ref _resources.PendingRequests);

    public bool TryAcquireRequest() => TryAcquire(ref _resources.Requests, MaxRequests, CircuitBreakerResource.Requests);
    public void ReleaseRequest() => Interlocked.Decrement(ref _resources.Requests);

    /// <summary>A retry may start: under the retry budget when one is set (it replaces max_retries, as in Envoy).</summary>
    public bool TryAcquireRetry()
    {
        long limit = Budget is { } b ? b.MaxActiveRetries(Volatile.Read(ref _resources.Requests)) : MaxRetries;
        if (Interlocked.Increment(ref _resources.Retries) <= limit) return true;
        Interlocked.Decrement(ref _resources.Retries);
        _stats?.RetryOverflow.Inc();
        _stats?.CircuitBreakerOverflow(CircuitBreakerResource.Retries).Inc();
        return false;
    }

    public void ReleaseRetry() => Interlocked.Decrement(ref _resources.Retries);

    // Increment first, undo on overflow: no compare-exchange loop. Admissions never pass the limit; a racer that
    // arrives while another is undoing may be refused one slot early, which a limit can afford.
    private bool TryAcquire(ref int count, int limit, CircuitBreakerResource resource)
    {
        if (Interlocked.Increment(ref count) <= limit) return true;
        Interlocked.Decrement(ref count);
        _stats?.CircuitBreakerOverflow(resource).Inc();
        return false;
    }
}

internal enum CircuitBreakerResource
{
    Connections,
    PendingRequests,
    Requests,
    Retries,
}
