// Why an endpoint is unavailable, as bits (Envoy's Host::HealthFlag): each source of bad health owns one bit, so an
// endpoint returns to the balancers only when every source has cleared its own.
namespace FastPath.Upstream.Health;

[Flags]
internal enum EndpointHealthFlags
{
    None = 0,
    /// <summary>Active health checks failed unhealthy_threshold times in a row (Envoy: /failed_active_hc).</summary>
    FailedActiveHealthCheck = 1 << 0,
    /// <summary>Ejected by outlier detection until its ejection time runs out (Envoy: /failed_outlier_check).</summary>
    OutlierEjected = 1 << 1,
    All = FailedActiveHealthCheck | OutlierEjected,
}

internal static class EndpointHealthFlagNames
{
    /// <summary>Envoy's /clusters spelling, for people who read both.</summary>
    public static IEnumerable<string> Names(int flags)
    {
        if ((flags & (int)EndpointHealthFlags.FailedActiveHealthCheck) != 0) yield return "failed_active_hc";
        if ((flags & (int)EndpointHealthFlags.OutlierEjected) != 0) yield return "failed_outlier_check";
    }
}
