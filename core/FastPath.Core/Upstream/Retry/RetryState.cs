// One request's retry bookkeeping: tries made, the route deadline over all tries, the back-off before the next try,
// the endpoint a retry should avoid, and the circuit-breaker slots it holds (a request, a retry in flight). It lives
// in the pooled exchange, so a request pays nothing for it; End releases every slot and runs on every path
// (exchange reset included), so an exception cannot leak a breaker count.
using FastPath.Config;
using FastPath.Upstream.Clusters;

namespace FastPath.Upstream.Retry;

internal sealed class RetryState
{
    private CircuitBreakers? _requestHeldBy;
    private CircuitBreakers? _retryHeldBy;
    private Cluster? _cluster;

    /// <summary>The route's policy; null: only the transport-level safe retry (a dead reused connection).</summary>
    public RetryPolicy? Policy { get; private set; }
    /// <summary>Retries the policy has sent so far.</summary>
    public int Retries { get; private set; }
    /// <summary>The dead-keep-alive retry (not counted against the policy) was used.</summary>
    public bool SafeRetryUsed { get; set; }
    /// <summary>The endpoint of the try that failed: the next pick avoids it when it can (Envoy previous_hosts).</summary>
    public UpstreamEndpoint? AvoidEndpoint { get; private set; }
    /// <summary>Environment.TickCount64 at which the route timeout ends all tries; 0 until the request is complete.</summary>
    public long DeadlineTicks { get; private set; }
    /// <summary>Whether the deadline armed for the current try is its per-try timeout (retriable) rather than the route's.</summary>
    public bool PerTryBound { get; private set; }
    /// <summary>Delay before the next try, set when a retry is decided.</summary>
    public long BackoffMs { get; private set; }
    /// <summary>The request body was read whole into the replay buffer; retries send it again.</summary>
    public bool BodyBuffered { get; set; }

    /// <summary>Takes a max_requests slot; false: the breaker is open (503 UO).</summary>
    public bool Begin(Cluster cluster, RetryPolicy? policy)
    {
        _cluster = cluster;
        Policy = policy;
        CircuitBreakers breakers = cluster.Breakers;
        if (!breakers.TryAcquireRequest()) return false;
        _requestHeldBy = breakers;
        return true;
    }

    /// <summary>
    /// The timeout to arm for the current try's response head (0: none), called once per try when its request is
    /// complete. The first call starts the route timeout (Envoy: it spans every try and back-off); a per-try timeout
    /// bounds each try within it.
    /// </summary>
    public long TryTimeoutMs(long routeTimeoutMs, long now)
    {
        StartDeadline(routeTimeoutMs, now);
        long remaining = DeadlineTicks == 0 ? 0 : Math.Max(1, DeadlineTicks - now); // 0 would mean "no deadline"
        long perTry = Policy?.PerTryTimeoutMs ?? 0;
        PerTryBound = perTry > 0 && (remaining == 0 || perTry < remaining);
        return PerTryBound ? perTry : remaining;
    }

    /// <summary>
    /// Starts the route timeout once the request is complete (a no-op after the first call); returns its deadline,
    /// 0 for none. It bounds the response to its end, not only its head (Envoy: the route timeout spans until the
    /// upstream response is completely processed).
    /// </summary>
    public long StartDeadline(long routeTimeoutMs, long now)
    {
        if (DeadlineTicks == 0 && routeTimeoutMs > 0) DeadlineTicks = now + routeTimeoutMs;
        return DeadlineTicks;
    }

    /// <summary>Whether the route timeout has run out (a try may not start).</summary>
    public bool DeadlinePassed(long now) => DeadlineTicks != 0 && now >= DeadlineTicks;

    /// <summary>The back-off to wait now, cut to what is left of the route timeout; clears it.</summary>
    public long TakeBackoff(long now)
    {
        long wait = BackoffMs;
        BackoffMs = 0;
        if (DeadlineTicks != 0) wait = Math.Min(wait, Math.Max(0, DeadlineTicks - now));
        return wait;
    }

    /// <summary>
    /// A try ended without a response. Decides whether the policy retries it: the condition must match, the body
    /// must be replayable, a retry must be left and the retry breaker (or budget) must allow one. Sets URX via
    /// <paramref name="limitExceeded"/> when the only obstacle was the number of retries.
    /// </summary>
    public bool ShouldRetryError(ProxyError error, bool replayable, UpstreamEndpoint? endpoint, long now, out bool limitExceeded)
    {
        // A per-try timeout is retriable; the route's own timeout ends the request.
        bool retriable = Policy is not null && (error != ProxyError.UpstreamTimeout || PerTryBound) && Policy.RetriesError(error);
        return Decide(retriable, replayable, endpoint, now, out limitExceeded);
    }

    /// <summary>A try ended with a response head: whether to drop it and retry (the client has seen nothing yet).</summary>
    /// <param name="grpcStatus">The grpc-status in the response headers (a trailers-only gRPC response); -1 without one.</param>
    public bool ShouldRetryStatus(int status, int grpcStatus, bool replayable, UpstreamEndpoint? endpoint, long now, out bool limitExceeded)
    {
        bool retriable = Policy is not null && (Policy.RetriesStatus(status) || (grpcStatus >= 0 && Policy.RetriesGrpcStatus(grpcStatus)));
        bool retry = Decide(retriable, replayable, endpoint, now, out limitExceeded);
        if (!retry && !retriable && Retries > 0) _cluster!.Stats.RetrySuccess.Inc();
        return retry;
    }

    private bool Decide(bool retriable, bool replayable, UpstreamEndpoint? endpoint, long now, out bool limitExceeded)
    {
        limitExceeded = false;
        ReleaseRetry(); // the try a held retry slot was for has ended
        if (!retriable || !replayable) return false;
        if (Retries >= Policy!.NumRetries)
        {
            limitExceeded = true;
            _cluster!.Stats.RetryLimitExceeded.Inc();
            return false;
        }
        if (DeadlinePassed(now)) return false;
        CircuitBreakers breakers = _cluster!.Breakers;
        if (!breakers.TryAcquireRetry()) return false; // counted as retry overflow; the failure goes back as it is
        _retryHeldBy = breakers;
        BackoffMs = Policy.NextBackoffMs(Retries);
        Retries++;
        AvoidEndpoint = endpoint;
        _cluster.Stats.Retries.Inc();
        return true;
    }

    private void ReleaseRetry()
    {
        if (_retryHeldBy is null) return;
        _retryHeldBy.ReleaseRetry();
        _retryHeldBy = null;
    }

    /// <summary>Releases every breaker slot the request holds and forgets it; safe to call more than once.</summary>
    public void End()
    {
        ReleaseRetry();
        _requestHeldBy?.ReleaseRequest();
        _requestHeldBy = null;
        _cluster = null;
        Policy = null;
        Retries = 0;
        SafeRetryUsed = false;
        AvoidEndpoint = null;
        DeadlineTicks = 0;
        PerTryBound = false;
        BackoffMs = 0;
        BodyBuffered = false;
    }
}
