// A route's compiled retry policy: which outcomes are retriable, how many retries, per-try timeout and back-off.
// Built when config loads; the request path only reads it (status checks are a bit test, not a list search).
using FastPath.Config;
using FastPath.LoadBalancing;

namespace FastPath.Upstream.Retry;

internal sealed class RetryPolicy
{
    private readonly ulong[] _statusBits = new ulong[10]; // one bit per status 0-639

    public RetryPolicy(RetryPolicyConfig config, int bufferLimitBytes, IRandomSource? random = null)
    {
        NumRetries = config.Attempts;
        On = config.RetryOn;
        PerTryTimeoutMs = (long)config.PerTryTimeout.TotalMilliseconds;
        BaseIntervalMs = Math.Max(1, (long)config.BackoffBaseInterval.TotalMilliseconds);
        MaxIntervalMs = config.BackoffMaxInterval is { } max && max > TimeSpan.Zero
            ? Math.Max(BaseIntervalMs, (long)max.TotalMilliseconds)
            : BaseIntervalMs * 10;
        BufferLimitBytes = bufferLimitBytes;
        Random = random ?? ThreadLocalRandom.Instance;
        if ((On & RetryOn.RetriableStatusCodes) != 0)
            foreach (int status in config.RetriableStatusCodes)
                if ((uint)status < 640) _statusBits[status >> 6] |= 1UL << (status & 63);
    }

    public int NumRetries { get; }
    public RetryOn On { get; }
    /// <summary>Whether some condition reads grpc-status, so a response's headers are looked at for it.</summary>
    public bool HasGrpcConditions => (On & (RetryOn.GrpcCancelled | RetryOn.GrpcDeadlineExceeded | RetryOn.GrpcResourceExhausted
                                            | RetryOn.GrpcUnavailable | RetryOn.GrpcInternal)) != 0;
    /// <summary>0: tries are bounded only by the route timeout.</summary>
    public long PerTryTimeoutMs { get; }
    public long BaseIntervalMs { get; }
    public long MaxIntervalMs { get; }
    /// <summary>Largest request body kept for replay (per_request_buffer_limit_bytes).</summary>
    public int BufferLimitBytes { get; }
    public IRandomSource Random { get; }

    /// <summary>Whether a response with this status may be retried (Envoy's RetryStateImpl::wouldRetryFromHeaders).</summary>
    public bool RetriesStatus(int status)
    {
        if ((On & RetryOn.FiveXx) != 0 && status is >= 500 and <= 599) return true;
        if ((On & RetryOn.GatewayError) != 0 && status is 502 or 503 or 504) return true;
        if ((On & RetryOn.Retriable4xx) != 0 && status == 409) return true;
        return (uint)status < 640 && (_statusBits[status >> 6] & (1UL << (status & 63))) != 0;
    }

    /// <summary>
    /// Whether a gRPC response whose headers carry this grpc-status may be retried: only a trailers-only response
    /// has its status in the headers, and only that one can still be retried (its body has not started).
    /// </summary>
    public bool RetriesGrpcStatus(int grpcStatus) => grpcStatus switch
    {
        1 => (On & RetryOn.GrpcCancelled) != 0,
        4 => (On & RetryOn.GrpcDeadlineExceeded) != 0,
        8 => (On & RetryOn.GrpcResourceExhausted) != 0,
        13 => (On & RetryOn.GrpcInternal) != 0,
        14 => (On & RetryOn.GrpcUnavailable) != 0,
        _ => false,
    };

    /// <summary>
    /// Whether a failure without a response may be retried. A per-try timeout counts as a reset and as a 504
    /// (Envoy retries it under 5xx, gateway-error and reset); the route's own timeout is never retried.
    /// </summary>
    public bool RetriesError(ProxyError error) => error switch
    {
        ProxyError.UpstreamConnectFailure => (On & (RetryOn.ConnectFailure | RetryOn.FiveXx | RetryOn.GatewayError)) != 0,
        ProxyError.UpstreamReset or ProxyError.UpstreamProtocolError => (On & (RetryOn.Reset | RetryOn.FiveXx | RetryOn.GatewayError)) != 0,
        // A refused stream was never processed by the origin (RFC 9113 §8.7).
        ProxyError.UpstreamRefusedStream => (On & (RetryOn.RefusedStream | RetryOn.Reset | RetryOn.FiveXx | RetryOn.GatewayError)) != 0,
        ProxyError.UpstreamTimeout => (On & (RetryOn.Reset | RetryOn.FiveXx | RetryOn.GatewayError)) != 0 || RetriesStatus(504),
        _ => false,
    };

    public long NextBackoffMs(int retry) => Backoff.DelayMs(retry, BaseIntervalMs, MaxIntervalMs, Random);
}
