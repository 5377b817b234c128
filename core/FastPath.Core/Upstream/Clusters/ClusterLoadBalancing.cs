// Turns a cluster's config into its balancer: priority levels, panic threshold and slow start (the balancers in
// LoadBalancing never read config records).
using FastPath.Config;
using FastPath.LoadBalancing;
using FastPath.Observability.Stats;

namespace FastPath.Upstream.Clusters;

internal static class ClusterLoadBalancing
{
    public static ClusterLoadBalancer Create(ClusterConfig config, UpstreamEndpoint[] endpoints, TimeProvider? time = null) =>
        ClusterLoadBalancer.Create(config.LbPolicy, endpoints, new LoadBalancerOptions
        {
            MinRingSize = config.RingSize,
            Time = time,
            HealthyPanicThreshold = config.HealthyPanicThreshold,
            SlowStart = config.SlowStart is { } s ? new SlowStartSettings(s.Window, s.Aggression, s.MinWeightPercent / 100.0) : null,
            PanicCounter = UpstreamHealthMetrics.HealthyPanic.WithLabels(config.Name),
        });
}
