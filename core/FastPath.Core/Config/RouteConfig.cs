// Virtual hosts and routes: how a request finds its destination and what happens on the way.
namespace FastPath.Config;

public sealed record VirtualHostConfig
{
    public string Name { get; init; } = "";
    public IReadOnlyList<string> Domains { get; init; } = ["*"];
    public IReadOnlyList<RouteConfig> Routes { get; init; } = [];
    /// <summary>HTTP filters for every route of this host; a route's own settings win (HttpFilterConfig.cs).</summary>
    public HttpFiltersConfig Filters { get; init; } = HttpFiltersConfig.None;
}

public sealed record RouteConfig
{
    public string Prefix { get; init; } = "/";
    public string Cluster { get; init; } = "";
    /// <summary>Time from forwarding the request to the upstream's response head; zero disables (Envoy: route timeout).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);
    public HttpFiltersConfig Filters { get; init; } = HttpFiltersConfig.None;
}
