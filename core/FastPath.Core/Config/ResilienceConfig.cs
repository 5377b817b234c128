// Retries, retry budgets and circuit breakers: the config records of Envoy's RetryPolicy, RetryBudget and
// CircuitBreakers.Thresholds, with Istio's HTTPRetry names (attempts, per_try_timeout, retry_on) where they exist.
namespace FastPath.Config;

/// <summary>Conditions that make an attempt retriable (Envoy's x-envoy-retry-on values).</summary>
[Flags]
public enum RetryOn
{
    None = 0,
    /// <summary>Any 5xx response, a reset, a connect failure or a per-try timeout.</summary>
    FiveXx = 1 << 0,
    /// <summary>502, 503 or 504, a reset, a connect failure or a per-try timeout.</summary>
    GatewayError = 1 << 1,
    /// <summary>No response at all: disconnect, reset or per-try timeout before the response head.</summary>
    Reset = 1 << 2,
    /// <summary>The connection to the upstream could not be opened (refused, connect timeout).</summary>
    ConnectFailure = 1 << 3,
    /// <summary>409 Conflict.</summary>
    Retriable4xx = 1 << 4,
    /// <summary>HTTP/2 REFUSED_STREAM; parsed now, effective once upstream HTTP/2 exists.</summary>
    RefusedStream = 1 << 5,
    /// <summary>A status listed in retriable_status_codes.</summary>
    RetriableStatusCodes = 1 << 6,
    /// <summary>gRPC status CANCELLED (1) in the response headers (Envoy's x-envoy-retry-grpc-on, Istio retryOn).</summary>
    GrpcCancelled = 1 << 7,
    /// <summary>gRPC status DEADLINE_EXCEEDED (4).</summary>
    GrpcDeadlineExceeded = 1 << 8,
    /// <summary>gRPC status RESOURCE_EXHAUSTED (8).</summary>
    GrpcResourceExhausted = 1 << 9,
    /// <summary>gRPC status UNAVAILABLE (14).</summary>
    GrpcUnavailable = 1 << 10,
    /// <summary>gRPC status INTERNAL (13).</summary>
    GrpcInternal = 1 << 11,
}

/// <summary>A route's retry policy (Envoy route.RetryPolicy; Istio HTTPRetry).</summary>
public sealed record RetryPolicyConfig
{
    /// <summary>Retries after the first try (Istio attempts, Envoy num_retries): up to Attempts + 1 tries.</summary>
    public int Attempts { get; init; } = 2;
    /// <summary>Bound on one try, from its request being sent to the response head; zero: only the route timeout.</summary>
    public TimeSpan PerTryTimeout { get; init; }
    /// <summary>Istio's default: connect-failure, refused-stream and retriable-status-codes (503).</summary>
    public RetryOn RetryOn { get; init; } = RetryOn.ConnectFailure | RetryOn.RefusedStream | RetryOn.RetriableStatusCodes;
    public IReadOnlyList<int> RetriableStatusCodes { get; init; } = [503];
    /// <summary>Back-off between tries: full jitter over an exponentially growing window (Envoy: 25 ms).</summary>
    public TimeSpan BackoffBaseInterval { get; init; } = TimeSpan.FromMilliseconds(25);
    /// <summary>Cap of the back-off window; null: 10 x the base interval (Envoy's default).</summary>
    public TimeSpan? BackoffMaxInterval { get; init; }
}

/// <summary>Envoy's circuit-breaker thresholds (default priority), cluster-wide; overflow answers 503 with flag UO.</summary>
public sealed record CircuitBreakersConfig
{
    public int MaxConnections { get; init; } = 1024;
    public int MaxPendingRequests { get; init; } = 1024;
    public int MaxRequests { get; init; } = 1024;
    public int MaxRetries { get; init; } = 3;
}

/// <summary>
/// Envoy's retry budget: retries in flight may be at most max(min_retry_concurrency, budget_percent of the requests
/// in flight). When set it replaces the max_retries threshold, as in Envoy.
/// </summary>
public sealed record RetryBudgetConfig
{
    public double BudgetPercent { get; init; } = 20;
    public int MinRetryConcurrency { get; init; } = 3;
}
