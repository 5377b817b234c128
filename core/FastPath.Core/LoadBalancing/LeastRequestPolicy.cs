// Least request by power of two choices (Mitzenmacher; Envoy's LEAST_REQUEST with choice_count 2): draw two distinct
// candidates by weight, send to the one with fewer requests in flight. Two reads per pick instead of a scan of every
// endpoint, and no herd onto one idle endpoint as a full scan would cause.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

internal sealed class LeastRequestPolicy : ILoadBalancingPolicy
{
    private readonly UpstreamEndpoint[] _endpoints;
    private readonly WeightedSampler _sampler;
    private readonly IRandomSource _random;

    public LeastRequestPolicy(UpstreamEndpoint[] endpoints, IRandomSource? random = null)
    {
        _endpoints = endpoints;
        _sampler = new WeightedSampler(endpoints);
        _random = random ?? ThreadLocalRandom.Instance;
    }

    public string Name => "least_request";

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        if (!_sampler.TryPickTwo(_random, context.IgnoreHealth, out int a, out int b)) return null;
        if (b < 0) return _endpoints[a];
        UpstreamEndpoint first = _endpoints[a], second = _endpoints[b];
        // A tie keeps the first candidate, which was drawn by weight: on an idle cluster picks follow the weights.
        return Volatile.Read(ref second.ActiveRequests) < Volatile.Read(ref first.ActiveRequests) ? second : first;
    }
}
