// Peak-EWMA by power of two choices (Linkerd's default balancer): of two candidates, pick the lower latency estimate x
// (requests in flight + 1). Latency reacts to a slow endpoint before its queue builds up, which least_request alone
// only notices once requests pile up. With unequal weights each endpoint's share is its weight / that cost instead
// (LoadWeightedDraw), so the weights hold under load.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

internal sealed class PeakEwmaPolicy : ILoadBalancingPolicy
{
    private readonly UpstreamEndpoint[] _endpoints;
    private readonly WeightedSampler _sampler;
    private readonly IRandomSource _random;
    private readonly TimeProvider _time;
    private readonly bool _equalWeights;

    public PeakEwmaPolicy(UpstreamEndpoint[] endpoints, IRandomSource? random = null, TimeProvider? time = null)
    {
        _endpoints = endpoints;
        _sampler = new WeightedSampler(endpoints);
        _random = random ?? ThreadLocalRandom.Instance;
        _time = time ?? TimeProvider.System;
        _equalWeights = LoadWeightedDraw.EqualWeights(endpoints);
    }

    public string Name => "peak_ewma";

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        if (!_equalWeights)
            return LoadWeightedDraw.Pick(_endpoints, _random, context.IgnoreHealth, new LatencyCost(_time.GetTimestamp()));
        if (!_sampler.TryPickTwo(_random, context.IgnoreHealth, out int a, out int b)) return null;
        if (b < 0) return _endpoints[a];
        long now = _time.GetTimestamp();
        UpstreamEndpoint first = _endpoints[a], second = _endpoints[b];
        // Ties keep the weighted first candidate, as in least_request.
        return Cost(second, now) < Cost(first, now) ? second : first;
    }

    internal static double Cost(UpstreamEndpoint e, long now) =>
        e.Latency.Cost(now) * (Volatile.Read(ref e.ActiveRequests) + 1);

    /// <summary>The P2C cost as a load; floored so an estimate decayed to nothing cannot take every request.</summary>
    private readonly struct LatencyCost(long now) : IEndpointLoad
    {
        public double Of(UpstreamEndpoint endpoint) => Math.Max(Cost(endpoint, now), 0.001);
    }
}
