// The load-balancer contract: a pick is lock-free and allocation-free; policies are built when config loads.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

/// <summary>Per-request input to a pick: a hash key for consistent policies, the attempt number for retries.</summary>
internal readonly struct LoadBalancerContext
{
    public ulong HashKey { get; init; }
    /// <summary>
    /// False when the cluster has no hash_policy or the request lacks the hashed field: consistent policies then pick
    /// at random, as Envoy does, rather than sending every such request to the owner of hash 0.
    /// </summary>
    public bool HasHashKey { get; init; }
    public int Attempt { get; init; }
    /// <summary>
    /// Panic mode (set by the cluster balancer when too few endpoints are healthy): pick as if every endpoint were
    /// healthy, spreading load over all of them rather than crushing the few that are left.
    /// </summary>
    public bool IgnoreHealth { get; init; }
}

internal interface ILoadBalancingPolicy
{
    string Name { get; }

    /// <summary>Picks a healthy endpoint, or null when there is none.</summary>
    UpstreamEndpoint? Pick(in LoadBalancerContext context);
}

/// <summary>Build-time knobs; Random and Time are replaced by seeded or manual ones in tests and benchmarks.</summary>
internal sealed record LoadBalancerOptions
{
    public int MinRingSize { get; init; } = RingHashPolicy.DefaultMinRingSize;
    public IRandomSource? Random { get; init; }
    public TimeProvider? Time { get; init; }
    /// <summary>Envoy's healthy_panic_threshold in percent; 0 turns panic mode off.</summary>
    public int HealthyPanicThreshold { get; init; } = PriorityLoad.DefaultPanicThreshold;
    /// <summary>Null: no slow start.</summary>
    public SlowStartSettings? SlowStart { get; init; }
    /// <summary>Counted once per pick made in panic mode.</summary>
    public Prometheus.Counter.Child? PanicCounter { get; init; }
}

internal static class LoadBalancingPolicies
{
    public static ILoadBalancingPolicy Create(string name, UpstreamEndpoint[] endpoints, LoadBalancerOptions? options = null)
    {
        options ??= new LoadBalancerOptions();
        return name switch
        {
            "round_robin" => new WeightedRoundRobinPolicy(endpoints),
            "random" => new RandomPolicy(endpoints, options.Random),
            "least_request" => new LeastRequestPolicy(endpoints, options.Random),
            "peak_ewma" => new PeakEwmaPolicy(endpoints, options.Random, options.Time),
            "ring_hash" => new RingHashPolicy(endpoints, options.MinRingSize, options.Random),
            "maglev" => new MaglevPolicy(endpoints, options.Random),
            _ => throw new ArgumentException($"unknown load-balancing policy '{name}'", nameof(name)),
        };
    }

    internal static bool AnyHealthy(UpstreamEndpoint[] endpoints)
    {
        foreach (UpstreamEndpoint e in endpoints)
        {
            if (e.Healthy) return true;
        }
        return false;
    }
}
