// Upstream health metrics (Envoy's cluster.lb_healthy_panic and cluster.outlier_detection.ejections_enforced_total),
// labelled by cluster; children are resolved when config loads, so counting is one interlocked add.
using Prometheus;

namespace FastPath.Observability.Stats;

internal static class UpstreamHealthMetrics
{
    public static readonly Counter HealthyPanic = Metrics.CreateCounter("fastpath_lb_healthy_panic_total",
        "Load-balancer picks made in panic mode (too few healthy endpoints: all of a priority level were used), by cluster.",
        new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter OutlierEjections = Metrics.CreateCounter("fastpath_outlier_ejections_total",
        "Endpoints ejected by outlier detection, by cluster.", new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter HealthCheckTransitions = Metrics.CreateCounter("fastpath_health_check_transitions_total",
        "Endpoints marked healthy or unhealthy by active health checks, by cluster and new state.",
        new CounterConfiguration { LabelNames = ["cluster", "state"] });
}
