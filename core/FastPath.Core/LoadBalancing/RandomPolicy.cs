// Weighted random (Envoy's RANDOM): no shared counter at all, so it scales across cores better than round robin and
// is the baseline the power-of-two-choice policies draw their candidates from.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

internal sealed class RandomPolicy : ILoadBalancingPolicy
{
    private readonly UpstreamEndpoint[] _endpoints;
    private readonly WeightedSampler _sampler;
    private readonly IRandomSource _random;

    public RandomPolicy(UpstreamEndpoint[] endpoints, IRandomSource? random = null)
    {
        _endpoints = endpoints;
        _sampler = new WeightedSampler(endpoints);
        _random = random ?? ThreadLocalRandom.Instance;
    }

    public string Name => "random";

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        int i = _sampler.PickHealthy(_random, exclude: -1, context.IgnoreHealth);
        return i < 0 ? null : _endpoints[i];
    }
}
