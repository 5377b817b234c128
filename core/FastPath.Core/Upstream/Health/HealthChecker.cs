// Active health checking for one cluster (Envoy's HealthCheckerImplBase): every interval (plus jitter) each endpoint
// is probed on its own socket, all endpoints in parallel; healthy_threshold successes in a row mark a failed
// endpoint healthy again, unhealthy_threshold failures in a row mark it unhealthy. The state lives on the endpoint,
// so endpoints that survive a reload keep it.
//
// Endpoints start healthy, so a fresh gateway never refuses its first requests while waiting for probes; the first
// probe of an endpoint is decisive both ways (as Envoy's first check of a new host is), so an endpoint that is down
// at start-up leaves the rotation after one probe instead of unhealthy_threshold intervals.
using FastPath.Config;
using FastPath.Tls;
using FastPath.LoadBalancing;
using FastPath.Observability.Stats;
using Microsoft.Extensions.Logging;

namespace FastPath.Upstream.Health;

internal enum HealthTransition
{
    None,
    BecameHealthy,
    BecameUnhealthy,
}

internal sealed class HealthChecker : IDisposable
{
    private readonly string _cluster;
    private readonly HealthProbe _probe;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IRandomSource _random;
    private readonly CancellationTokenSource _stop = new();
    private UpstreamEndpoint[] _endpoints;
    private Task _loop = Task.CompletedTask;

    /// <param name="http2">Probe with HTTP/2 (the config's codec resolved against the cluster's protocol).</param>
    public HealthChecker(string cluster, HealthCheckConfig config, UpstreamEndpoint[] endpoints, TimeProvider time, ILogger logger,
        IRandomSource? random = null, bool http2 = false)
    {
        _cluster = cluster;
        Config = config;
        _endpoints = endpoints;
        _time = time;
        _logger = logger;
        _random = random ?? new SeededRandom((ulong)Random.Shared.NextInt64());
        _probe = new HealthProbe(config, cluster, http2);
    }

    public HealthCheckConfig Config { get; }

    public bool Http2 => _probe.IsHttp2;

    /// <summary>The endpoints of a newly activated config; the next round probes them.</summary>
    public void UpdateEndpoints(UpstreamEndpoint[] endpoints) => Volatile.Write(ref _endpoints, endpoints);

    /// <summary>The cluster's TLS origination (HTTP probes use it); null: plaintext. Replaced with each config.</summary>
    public UpstreamTlsContext? Tls
    {
        get => Volatile.Read(ref _tls);
        set => Volatile.Write(ref _tls, value);
    }

    private UpstreamTlsContext? _tls;

    public void Start() => _loop = Task.Run(RunAsync);

    private async Task RunAsync()
    {
        CancellationToken stopping = _stop.Token;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                UpstreamEndpoint[] endpoints = Volatile.Read(ref _endpoints);
                var probes = new Task[endpoints.Length];
                for (int i = 0; i < endpoints.Length; i++) probes[i] = CheckAsync(endpoints[i], stopping);
                await Task.WhenAll(probes).ConfigureAwait(false);
                await Task.Delay(NextDelay(), _time, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            HealthLog.CheckerFailed(_logger, _cluster, e);
        }
    }

    /// <summary>interval + a uniform draw from [0, interval_jitter).</summary>
    internal TimeSpan NextDelay()
    {
        TimeSpan jitter = Config.IntervalJitter;
        if (jitter <= TimeSpan.Zero) return Config.Interval;
        return Config.Interval + TimeSpan.FromTicks((long)XorShift.Below(_random.NextUInt64(), (ulong)jitter.Ticks));
    }

    private async Task CheckAsync(UpstreamEndpoint endpoint, CancellationToken stopping)
    {
        string? failure = await _probe.ProbeAsync(endpoint.Address, Config.Timeout, stopping, Tls, endpoint.Host).ConfigureAwait(false);
        if (stopping.IsCancellationRequested) return;
        Record(endpoint, failure);
    }

    /// <summary>Applies one probe result and logs a transition (one line per change, never per probe).</summary>
    internal HealthTransition Record(UpstreamEndpoint endpoint, string? failure)
    {
        HealthTransition t = Observe(endpoint, failure is null, Config.HealthyThreshold, Config.UnhealthyThreshold, _time.GetTimestamp());
        if (t == HealthTransition.BecameUnhealthy)
        {
            UpstreamHealthMetrics.HealthCheckTransitions.WithLabels(_cluster, "unhealthy").Inc();
            HealthLog.EndpointUnhealthy(_logger, _cluster, endpoint.Name, failure ?? "");
        }
        else if (t == HealthTransition.BecameHealthy)
        {
            UpstreamHealthMetrics.HealthCheckTransitions.WithLabels(_cluster, "healthy").Inc();
            HealthLog.EndpointHealthy(_logger, _cluster, endpoint.Name);
        }
        return t;
    }

    /// <summary>The state machine on its own, for tests: counts in a row, thresholds, a decisive first probe.</summary>
    internal static HealthTransition Observe(UpstreamEndpoint e, bool success, int healthyThreshold, int unhealthyThreshold, long now)
    {
        bool failed = (Volatile.Read(ref e.HealthFlags) & (int)EndpointHealthFlags.FailedActiveHealthCheck) != 0;
        bool first = !e.Checked;
        e.Checked = true;
        if (success)
        {
            e.CheckFailures = 0;
            e.CheckSuccesses++;
            if (failed && (first || e.CheckSuccesses >= healthyThreshold))
            {
                e.SetHealthFlag(EndpointHealthFlags.FailedActiveHealthCheck, false, now);
                return HealthTransition.BecameHealthy;
            }
        }
        else
        {
            e.CheckSuccesses = 0;
            e.CheckFailures++;
            if (!failed && (first || e.CheckFailures >= unhealthyThreshold))
            {
                e.SetHealthFlag(EndpointHealthFlags.FailedActiveHealthCheck, true, now);
                return HealthTransition.BecameUnhealthy;
            }
        }
        return HealthTransition.None;
    }

    public void Dispose()
    {
        _stop.Cancel();
        // The loop ends at its next await; probes in flight end with their sockets' cancellation.
        _ = _loop.ContinueWith(static (_, s) => ((CancellationTokenSource)s!).Dispose(), _stop, TaskScheduler.Default);
    }
}
