// Least request (Envoy's LEAST_REQUEST). With equal weights: power of two choices (Mitzenmacher; choice_count 2):
// draw two distinct candidates, send to the one with fewer requests in flight — two reads per pick instead of a scan,
// and no herd onto one idle endpoint as a full scan would cause. With unequal weights P2C would even out requests in
// flight and lose the weights (two concurrent clients on a 3:1 cluster measured a 1:1 split), so, as Envoy does,
// each endpoint's share is its weight scaled by its load: weight / (requests in flight + 1).
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

internal sealed class LeastRequestPolicy : ILoadBalancingPolicy
{
    private readonly UpstreamEndpoint[] _endpoints;
    private readonly WeightedSampler _sampler;
    private readonly IRandomSource _random;
    private readonly bool _equalWeights;

    public LeastRequestPolicy(UpstreamEndpoint[] endpoints, IRandomSource? random = null)
    {
        _endpoints = endpoints;
        _sampler = new WeightedSampler(endpoints);
        _random = random ?? ThreadLocalRandom.Instance;
        _equalWeights = LoadWeightedDraw.EqualWeights(endpoints);
    }

    public string Name => "least_request";

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        if (!_equalWeights) return LoadWeightedDraw.Pick(_endpoints, _random, context.IgnoreHealth, default(InFlight));
        if (!_sampler.TryPickTwo(_random, context.IgnoreHealth, out int a, out int b)) return null;
        if (b < 0) return _endpoints[a];
        UpstreamEndpoint first = _endpoints[a], second = _endpoints[b];
        // A tie keeps the first candidate, which was drawn by weight: on an idle cluster picks follow the weights.
        return Volatile.Read(ref second.ActiveRequests) < Volatile.Read(ref first.ActiveRequests) ? second : first;
    }

    /// <summary>Envoy's active_request_bias 1.0: load is requests in flight + 1.</summary>
    private readonly struct InFlight : IEndpointLoad
    {
        public double Of(UpstreamEndpoint endpoint) => Volatile.Read(ref endpoint.ActiveRequests) + 1;
    }
}
