// Prometheus metrics (prometheus-net). Label children are resolved when config loads or on first use of a status
// code, so counting on the request path is an interlocked add with no allocation.
using FastPath.Upstream;
using Prometheus;

namespace FastPath.Observability.Stats;

internal static class ProxyMetrics
{
    private static readonly double[] DurationBucketsMs =
        [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

    public static readonly Counter Requests = Metrics.CreateCounter("fastpath_requests_total",
        "Requests completed, by upstream cluster, response code and response code class.",
        new CounterConfiguration { LabelNames = ["cluster", "response_code", "response_code_class"] });

    public static readonly Histogram RequestDuration = Metrics.CreateHistogram("fastpath_request_duration_milliseconds",
        "Time from the request head being read to the last response byte written, by cluster.",
        new HistogramConfiguration { LabelNames = ["cluster"], Buckets = DurationBucketsMs });

    public static readonly Gauge DownstreamActive = Metrics.CreateGauge("fastpath_downstream_connections_active",
        "Open downstream (client) connections.");

    public static readonly Counter DownstreamTotal = Metrics.CreateCounter("fastpath_downstream_connections_total",
        "Downstream connections accepted.");

    public static readonly Gauge UpstreamActive = Metrics.CreateGauge("fastpath_upstream_connections_active",
        "Open upstream connections, by cluster.", new GaugeConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter ResponseFlagsTotal = Metrics.CreateCounter("fastpath_response_flags_total",
        "Requests that ended with an Envoy-style response flag (UF, UC, UT, NR, ...).",
        new CounterConfiguration { LabelNames = ["flag"] });

    // One child per flag combination seen, so a flagged request (a fault abort, a rate limit) counts without
    // formatting its label again: the set of combinations is small and fixed by the code.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ResponseFlags, Counter.Child> s_flagCounters = new();

    /// <summary>Counts a request that ended with these flags (none: nothing counted).</summary>
    public static void CountFlags(ResponseFlags flags)
    {
        if (flags == ResponseFlags.None) return;
        s_flagCounters.GetOrAdd(flags, static f => ResponseFlagsTotal.WithLabels(f.ToString())).Inc();
    }

    public static readonly Counter AccessLogDropped = Metrics.CreateCounter("fastpath_access_log_dropped_total",
        "Access-log lines dropped because the writer could not keep up (the request path never waits for it).");

    public static readonly Counter ConfigReloads = Metrics.CreateCounter("fastpath_config_reloads_total",
        "Configuration reloads, by result.", new CounterConfiguration { LabelNames = ["result"] });

    public static readonly Counter UpstreamRetries = Metrics.CreateCounter("fastpath_upstream_rq_retry_total",
        "Retries sent (Envoy upstream_rq_retry), by cluster.", new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter UpstreamRetrySuccess = Metrics.CreateCounter("fastpath_upstream_rq_retry_success_total",
        "Retries whose attempt was accepted (Envoy upstream_rq_retry_success), by cluster.", new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter UpstreamRetryOverflow = Metrics.CreateCounter("fastpath_upstream_rq_retry_overflow_total",
        "Retries not sent because max_retries or the retry budget was reached (Envoy upstream_rq_retry_overflow), by cluster.",
        new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter UpstreamRetryLimitExceeded = Metrics.CreateCounter("fastpath_upstream_rq_retry_limit_exceeded_total",
        "Requests whose last allowed try failed retriably (flag URX), by cluster.", new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter CircuitBreakerOverflow = Metrics.CreateCounter("fastpath_circuit_breaker_overflow_total",
        "Refused by a circuit breaker, by cluster and resource: connections, pending_requests and requests (503 UO), "
        + "retries (not sent; also in fastpath_upstream_rq_retry_overflow_total).", new CounterConfiguration { LabelNames = ["cluster", "resource"] });

    // The perf suite divides this by requests served to get allocation per request.
    private static readonly Counter GcAllocated = Metrics.CreateCounter("fastpath_gc_allocated_bytes_total",
        "Bytes allocated on the managed heap since the process started.");

    // A pool that keeps growing under a steady load is a leak; one that grew once reached the load's peak.
    private static readonly Counter BufferBlocksCreated = Metrics.CreateCounter("fastpath_buffer_blocks_created_total",
        "Buffer blocks the pools had to make (sockets: 16 KiB, http2_streams: 4 KiB); flat once a load's peak is reached.",
        new CounterConfiguration { LabelNames = ["pool"] });

    private static int s_initialised;

    public static void Initialise()
    {
        if (Interlocked.Exchange(ref s_initialised, 1) != 0) return;
        Counter.Child socketBlocks = BufferBlocksCreated.WithLabels("sockets");
        Counter.Child streamBlocks = BufferBlocksCreated.WithLabels("http2_streams");
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            GcAllocated.IncTo(GC.GetTotalAllocatedBytes(precise: false));
            socketBlocks.IncTo(Transport.BlockPool.Sockets.Created);
            streamBlocks.IncTo(Transport.BlockPool.Http2Streams.Created);
        });
        Http2Metrics.Register();
    }
}

/// <summary>Per-cluster handles; one instance per cluster name for the life of the process.</summary>
internal sealed class ClusterStats
{
    private readonly string _cluster;
    private readonly Counter.Child?[] _byStatus = new Counter.Child?[600];

    public ClusterStats(string cluster)
    {
        _cluster = cluster;
        Duration = ProxyMetrics.RequestDuration.WithLabels(cluster);
        UpstreamActive = ProxyMetrics.UpstreamActive.WithLabels(cluster);
        Retries = ProxyMetrics.UpstreamRetries.WithLabels(cluster);
        RetrySuccess = ProxyMetrics.UpstreamRetrySuccess.WithLabels(cluster);
        RetryOverflow = ProxyMetrics.UpstreamRetryOverflow.WithLabels(cluster);
        RetryLimitExceeded = ProxyMetrics.UpstreamRetryLimitExceeded.WithLabels(cluster);
        _overflow =
        [
            ProxyMetrics.CircuitBreakerOverflow.WithLabels(cluster, "connections"),
            ProxyMetrics.CircuitBreakerOverflow.WithLabels(cluster, "pending_requests"),
            ProxyMetrics.CircuitBreakerOverflow.WithLabels(cluster, "requests"),
            ProxyMetrics.CircuitBreakerOverflow.WithLabels(cluster, "retries"),
        ];
    }

    private readonly Counter.Child[] _overflow;

    public Histogram.Child Duration { get; }
    public Gauge.Child UpstreamActive { get; }
    public Counter.Child Retries { get; }
    public Counter.Child RetrySuccess { get; }
    public Counter.Child RetryOverflow { get; }
    public Counter.Child RetryLimitExceeded { get; }

    /// <summary>Indexed by FastPath.Upstream.Clusters.CircuitBreakerResource.</summary>
    public Counter.Child CircuitBreakerOverflow(Upstream.Clusters.CircuitBreakerResource resource) => _overflow[(int)resource];

    public void Record(int status, double durationMs)
    {
        if ((uint)status < (uint)_byStatus.Length)
        {
            Counter.Child? c = Volatile.Read(ref _byStatus[status]) ?? Resolve(status);
            c.Inc();
        }
        Duration.Observe(durationMs);
    }

    private Counter.Child Resolve(int status)
    {
        var child = ProxyMetrics.Requests.WithLabels(_cluster, status.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{status / 100}xx");
        return Interlocked.CompareExchange(ref _byStatus[status], child, null) ?? child;
    }
}
