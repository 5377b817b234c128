// Passive outlier detection for one cluster (Envoy's outlier::DetectorImpl, Istio's outlierDetection): the request
// path counts consecutive failures on the endpoint with Interlocked (no lock, no allocation), and the attempt that
// reaches a threshold ejects the endpoint at once. Ejections last base_ejection_time x the endpoint's multiplier,
// which grows by one per ejection and decays by one per interval spent available; a sweep every interval returns
// endpoints whose time ran out. One detector per cluster name lives as long as the process, so endpoints that
// survive a reload keep their ejection state.
using FastPath.Config;
using FastPath.Observability.Stats;
using Microsoft.Extensions.Logging;

namespace FastPath.Upstream.Health;

internal sealed class OutlierDetector
{
    private readonly string _cluster;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Prometheus.Counter.Child _ejections;
    private volatile OutlierDetectionConfig? _config;
    private UpstreamEndpoint[] _endpoints = [];
    private long _lastSweep;

    public OutlierDetector(string cluster, TimeProvider time, ILogger logger)
    {
        _cluster = cluster;
        _time = time;
        _logger = logger;
        _lastSweep = time.GetTimestamp();
        _ejections = UpstreamHealthMetrics.OutlierEjections.WithLabels(cluster);
    }

    public OutlierDetectionConfig? Config => _config;

    /// <summary>
    /// Takes the settings and endpoints of a newly activated config. Without outlier_detection every ejection ends
    /// at once: an endpoint must not stay out because of a feature that is no longer configured.
    /// </summary>
    public void Apply(OutlierDetectionConfig? config, UpstreamEndpoint[] endpoints)
    {
        lock (_lock)
        {
            _endpoints = endpoints;
            _config = config;
            foreach (UpstreamEndpoint e in endpoints) e.Outlier = this;
            if (config is null)
            {
                long now = _time.GetTimestamp();
                foreach (UpstreamEndpoint e in endpoints)
                {
                    Volatile.Write(ref e.Consecutive5xx, 0);
                    Volatile.Write(ref e.ConsecutiveGatewayErrors, 0);
                    e.EjectionMultiplier = 0;
                    if (e.SetHealthFlag(EndpointHealthFlags.OutlierEjected, false, now)) HealthLog.EndpointUnejected(_logger, _cluster, e.Name);
                }
            }
        }
    }

    /// <summary>
    /// One attempt's outcome (Envoy's putHttpResponseCode / putResult with local-origin errors not split): a 5xx
    /// counts towards consecutive_5xx, a 502/503/504 also towards consecutive_gateway_errors, and a connect failure,
    /// reset or timeout counts as both (Envoy maps them to 503/504). Anything below 500 resets both counts; errors
    /// that are the client's doing (downstream reset, overflow of the local pool) count for nothing.
    /// </summary>
    public void Report(UpstreamEndpoint e, ProxyError error, int status)
    {
        OutlierDetectionConfig? c = _config;
        if (c is null) return;
        bool gateway;
        switch (error)
        {
            case ProxyError.None:
                if (status < 500)
                {
                    // Read before writing: a healthy endpoint's success costs two reads, not two cache-line writes.
                    if (Volatile.Read(ref e.Consecutive5xx) != 0) Volatile.Write(ref e.Consecutive5xx, 0);
                    if (Volatile.Read(ref e.ConsecutiveGatewayErrors) != 0) Volatile.Write(ref e.ConsecutiveGatewayErrors, 0);
                    return;
                }
                gateway = status is 502 or 503 or 504;
                break;
            case ProxyError.UpstreamConnectFailure:
            case ProxyError.UpstreamReset:
            case ProxyError.UpstreamTimeout:
            case ProxyError.UpstreamProtocolError:
                gateway = true;
                break;
            default:
                return;
        }
        // Equality, not >=: exactly one attempt (the one that reaches the threshold) tries to eject. A check that is
        // off (0) does not count at all.
        if (!gateway)
        {
            if (Volatile.Read(ref e.ConsecutiveGatewayErrors) != 0) Volatile.Write(ref e.ConsecutiveGatewayErrors, 0);
        }
        else if (c.ConsecutiveGatewayErrors > 0 && Interlocked.Increment(ref e.ConsecutiveGatewayErrors) == c.ConsecutiveGatewayErrors)
        {
            TryEject(e, gatewayErrors: true);
        }
        if (c.Consecutive5xx > 0 && Interlocked.Increment(ref e.Consecutive5xx) == c.Consecutive5xx) TryEject(e, gatewayErrors: false);
    }

    private void TryEject(UpstreamEndpoint e, bool gatewayErrors)
    {
        lock (_lock)
        {
            OutlierDetectionConfig? c = _config;
            // The count that fired starts over whether or not the ejection happens (Envoy does the same), so a
            // refused ejection is retried after another full run of failures, not on every failure.
            if (gatewayErrors) Volatile.Write(ref e.ConsecutiveGatewayErrors, 0);
            else Volatile.Write(ref e.Consecutive5xx, 0);
            UpstreamEndpoint[] endpoints = _endpoints;
            if (c is null || Array.IndexOf(endpoints, e) < 0) return; // an endpoint a reload removed
            if ((Volatile.Read(ref e.HealthFlags) & (int)EndpointHealthFlags.OutlierEjected) != 0) return;
            if (!MayEject(c, endpoints)) return;

            long now = _time.GetTimestamp();
            int multiplier = ++e.EjectionMultiplier;
            int count = ++e.EjectionCount;
            TimeSpan duration = c.BaseEjectionTime * multiplier;
            Volatile.Write(ref e.EjectedUntil, now + Ticks(duration));
            e.SetHealthFlag(EndpointHealthFlags.OutlierEjected, true, now);
            _ejections.Inc();
            HealthLog.EndpointEjected(_logger, _cluster, e.Name, gatewayErrors ? "consecutive gateway errors" : "consecutive 5xx", duration, count);
        }
    }

    /// <summary>
    /// Envoy's caps: ejected endpoints stay within max_ejection_percent of the cluster, but at least one may be
    /// ejected whenever the percent is above 0 (otherwise 10% of a cluster of under ten could never eject anything);
    /// and nothing is ejected while fewer than min_health_percent of the endpoints are available (Istio's
    /// minHealthPercent: outlier detection stands down when the pool is already unhealthy).
    /// </summary>
    private static bool MayEject(OutlierDetectionConfig c, UpstreamEndpoint[] endpoints)
    {
        if (c.MaxEjectionPercent == 0 || endpoints.Length == 0) return false;
        int ejected = 0, available = 0;
        foreach (UpstreamEndpoint x in endpoints)
        {
            int flags = Volatile.Read(ref x.HealthFlags);
            if ((flags & (int)EndpointHealthFlags.OutlierEjected) != 0) ejected++;
            if (flags == 0) available++;
        }
        int max = Math.Max(1, endpoints.Length * c.MaxEjectionPercent / 100);
        if (ejected >= max) return false;
        return available * 100 >= c.MinHealthPercent * endpoints.Length;
    }

    /// <summary>Called on every heartbeat; sweeps once per configured interval.</summary>
    public void Tick()
    {
        OutlierDetectionConfig? c = _config;
        if (c is null) return;
        long now = _time.GetTimestamp();
        if (now - Volatile.Read(ref _lastSweep) < Ticks(c.Interval)) return;
        Sweep(now);
    }

    /// <summary>
    /// Returns endpoints whose ejection ran out; an endpoint available for a whole interval has its multiplier
    /// decay by one (Envoy's behaviour), so an endpoint that fails once a day is not ejected for hours.
    /// </summary>
    public void Sweep(long now)
    {
        lock (_lock)
        {
            Volatile.Write(ref _lastSweep, now);
            OutlierDetectionConfig? c = _config;
            if (c is null) return;
            long interval = Ticks(c.Interval);
            foreach (UpstreamEndpoint e in _endpoints)
            {
                long until = Volatile.Read(ref e.EjectedUntil);
                if ((Volatile.Read(ref e.HealthFlags) & (int)EndpointHealthFlags.OutlierEjected) != 0)
                {
                    if (now < until) continue;
                    Volatile.Write(ref e.Consecutive5xx, 0);
                    Volatile.Write(ref e.ConsecutiveGatewayErrors, 0);
                    e.SetHealthFlag(EndpointHealthFlags.OutlierEjected, false, now);
                    HealthLog.EndpointUnejected(_logger, _cluster, e.Name);
                }
                else if (e.EjectionMultiplier > 0 && now - until >= interval)
                {
                    // EjectedUntil doubles as "multiplier last decayed at" once the endpoint is back.
                    e.EjectionMultiplier--;
                    Volatile.Write(ref e.EjectedUntil, until + interval);
                }
            }
        }
    }

    private long Ticks(TimeSpan t) => (long)(t.TotalSeconds * _time.TimestampFrequency);
}
