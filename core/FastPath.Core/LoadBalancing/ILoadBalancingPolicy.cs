// The load-balancer contract: a pick is lock-free and allocation-free; policies are built when config loads.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

/// <summary>Per-request input to a pick: a hash key for consistent policies, the attempt number for retries.</summary>
internal readonly struct LoadBalancerContext
{
    public ulong HashKey { get; init; }
    public int Attempt { get; init; }
}

internal interface ILoadBalancingPolicy
{
    string Name { get; }

    /// <summary>Picks a healthy endpoint, or null when there is none.</summary>
    UpstreamEndpoint? Pick(in LoadBalancerContext context);
}

internal static class LoadBalancingPolicies
{
    public static ILoadBalancingPolicy Create(string name, UpstreamEndpoint[] endpoints) => name switch
    {
        "round_robin" => new WeightedRoundRobinPolicy(endpoints),
        _ => throw new ArgumentException($"unknown load-balancing policy '{name}'", nameof(name)),
    };
}
