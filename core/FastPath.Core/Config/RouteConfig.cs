// Virtual hosts and routes: how a request finds its destination and what happens on the way.
namespace FastPath.Config;

public sealed record VirtualHostConfig
{
    public string Name { get; init; } = "";
    public IReadOnlyList<string> Domains { get; init; } = ["*"];
    public IReadOnlyList<RouteConfig> Routes { get; init; } = [];
}

public sealed record RouteConfig
{
    public string Prefix { get; init; } = "/";
    public string Cluster { get; init; } = "";
    /// <summary>Time from forwarding the request to the upstream's response head; zero disables (Envoy: route timeout).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Retry policy; null keeps the one safe retry of a body-less idempotent request on a dead reused connection.</summary>
    public RetryPolicyConfig? Retries { get; init; }
    /// <summary>Largest request body kept for replay on a retry (Envoy per_request_buffer_limit_bytes); a larger one is not retried.</summary>
    public int PerRequestBufferLimitBytes { get; init; } = 64 * 1024;
}
