// Owns what keeps watching clusters between reloads: one outlier detector per cluster name (endpoints point at it,
// so it must outlive snapshots) and one active health checker per cluster with health_check. ClusterManager.Build
// only looks detectors up; Activate applies settings, starts and stops checkers.
using FastPath.Config;
using FastPath.Tls;
using FastPath.LoadBalancing;
using Microsoft.Extensions.Logging;

namespace FastPath.Upstream.Health;

internal sealed class UpstreamHealthMonitor(ILogger logger, TimeProvider time) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, OutlierDetector> _detectors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HealthChecker> _checkers = new(StringComparer.Ordinal);
    private OutlierDetector[] _active = [];
    private bool _disposed;

    public TimeProvider Time => time;

    /// <summary>The detector for a cluster name, created on first use; creating one changes nothing live.</summary>
    public OutlierDetector DetectorFor(string cluster)
    {
        lock (_lock)
        {
            if (!_detectors.TryGetValue(cluster, out OutlierDetector? d)) _detectors[cluster] = d = new OutlierDetector(cluster, time, logger);
            return d;
        }
    }

    /// <summary>Plaintext clusters only (no TLS origination for their probes).</summary>
    public void Activate(IEnumerable<(string Name, ClusterConfig Config, UpstreamEndpoint[] Endpoints)> clusters) =>
        Activate(clusters.Select(c => (c.Name, c.Config, c.Endpoints, (UpstreamTlsContext?)null)));

    /// <summary>Applies the health settings of the clusters that just became live; checkers of removed clusters stop.</summary>
    public void Activate(IEnumerable<(string Name, ClusterConfig Config, UpstreamEndpoint[] Endpoints, UpstreamTlsContext? Tls)> clusters)
    {
        lock (_lock)
        {
            if (_disposed) return;
            var live = new HashSet<string>(StringComparer.Ordinal);
            var active = new List<OutlierDetector>();
            foreach ((string name, ClusterConfig config, UpstreamEndpoint[] endpoints, UpstreamTlsContext? tls) in clusters)
            {
                live.Add(name);
                if (!_detectors.TryGetValue(name, out OutlierDetector? detector)) _detectors[name] = detector = new OutlierDetector(name, time, logger);
                detector.Apply(config.OutlierDetection, endpoints);
                active.Add(detector);

                _checkers.TryGetValue(name, out HealthChecker? checker);
                if (config.HealthCheck is { } hc)
                {
                    bool http2 = hc.UsesHttp2(config.Protocol);
                    if (checker is not null && checker.Config.SameAs(hc) && checker.Http2 == http2)
                    {
                        checker.UpdateEndpoints(endpoints);
                        checker.Tls = tls;
                        continue;
                    }
                    checker?.Dispose();
                    checker = new HealthChecker(name, hc, endpoints, time, logger, new SeededRandom((ulong)Random.Shared.NextInt64()), http2) { Tls = tls };
                    _checkers[name] = checker;
                    checker.Start();
                }
                else if (checker is not null)
                {
                    checker.Dispose();
                    _checkers.Remove(name);
                    // Nothing checks these endpoints any more: a failed check must not keep them out for good.
                    long now = time.GetTimestamp();
                    foreach (UpstreamEndpoint e in endpoints)
                    {
                        e.Checked = false;
                        e.SetHealthFlag(EndpointHealthFlags.FailedActiveHealthCheck, false, now);
                    }
                }
            }
            foreach (string name in _checkers.Keys.Where(n => !live.Contains(n)).ToList())
            {
                _checkers[name].Dispose();
                _checkers.Remove(name);
            }
            foreach ((string name, OutlierDetector d) in _detectors)
                if (!live.Contains(name)) d.Apply(null, []);
            Volatile.Write(ref _active, [.. active]);
        }
    }

    /// <summary>Heartbeat work: outlier sweeps, each at its own cluster's interval.</summary>
    public void Tick()
    {
        foreach (OutlierDetector d in Volatile.Read(ref _active)) d.Tick();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (HealthChecker c in _checkers.Values) c.Dispose();
            _checkers.Clear();
            _active = [];
        }
    }
}
