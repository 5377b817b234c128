// Source-generated log messages for upstream health: one message per transition, never one per probe or request.
using Microsoft.Extensions.Logging;

namespace FastPath.Upstream.Health;

internal static partial class HealthLog
{
    [LoggerMessage(301, LogLevel.Warning, "Cluster {Cluster}: endpoint {Endpoint} failed active health checks ({Reason}); marked unhealthy")]
    public static partial void EndpointUnhealthy(ILogger logger, string cluster, string endpoint, string reason);

    [LoggerMessage(302, LogLevel.Information, "Cluster {Cluster}: endpoint {Endpoint} passed active health checks; marked healthy")]
    public static partial void EndpointHealthy(ILogger logger, string cluster, string endpoint);

    [LoggerMessage(303, LogLevel.Warning, "Cluster {Cluster}: endpoint {Endpoint} ejected as an outlier ({Reason}) for {Duration}, ejection {Count}")]
    public static partial void EndpointEjected(ILogger logger, string cluster, string endpoint, string reason, TimeSpan duration, int count);

    [LoggerMessage(304, LogLevel.Information, "Cluster {Cluster}: endpoint {Endpoint} returned from outlier ejection")]
    public static partial void EndpointUnejected(ILogger logger, string cluster, string endpoint);

    [LoggerMessage(305, LogLevel.Error, "Cluster {Cluster}: health checking stopped unexpectedly")]
    public static partial void CheckerFailed(ILogger logger, string cluster, Exception exception);
}
