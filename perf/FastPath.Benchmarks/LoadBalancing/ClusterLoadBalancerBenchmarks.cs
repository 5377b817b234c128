// A cluster balancer's pick (priority level, panic check, slow start, then the level's policy) over 16 endpoints,
// against LoadBalancerBenchmarks' bare policies: what priorities, panic mode and slow start add per request.
// Category ZeroAlloc: the CI gate fails if a pick allocates.
using System.Net;
using BenchmarkDotNet.Attributes;
using FastPath.LoadBalancing;
using FastPath.Upstream;
using FastPath.Upstream.Pools;

namespace FastPath.Benchmarks.LoadBalancing;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class ClusterLoadBalancerBenchmarks
{
    private const int EndpointCount = 16;

    private ILoadBalancingPolicy _roundRobin = null!;
    private ILoadBalancingPolicy _leastRequestTwoLevels = null!;
    private ILoadBalancingPolicy _randomPanic = null!;
    private ILoadBalancingPolicy _roundRobinSlowStart = null!;

    private static UpstreamEndpoint[] Endpoints(Func<int, int> priority)
    {
        var settings = new PoolSettings(16, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var endpoints = new UpstreamEndpoint[EndpointCount];
        for (int i = 0; i < EndpointCount; i++)
        {
            var address = new IPEndPoint(new IPAddress([10, 0, 0, (byte)(i + 1)]), 8080);
            var pool = new Http1ConnectionPool(address.ToString(), address, null!, settings);
            endpoints[i] = new UpstreamEndpoint(address.Address.ToString(), 8080, 1 + i % 4, address, pool, priority(i));
            endpoints[i].ActiveRequests = i % 5;
        }
        return endpoints;
    }

    [GlobalSetup]
    public void Setup()
    {
        // One level, everything healthy: the common case.
        _roundRobin = ClusterLoadBalancer.Create("round_robin", Endpoints(_ => 0));

        // Two levels of 8, with 6 of 8 down at P0: 25% x 1.4 = 35% of picks stay at P0, 65% spill to P1.
        UpstreamEndpoint[] twoLevels = Endpoints(i => i < 8 ? 0 : 1);
        for (int i = 0; i < 6; i++) twoLevels[i].Healthy = false;
        _leastRequestTwoLevels = ClusterLoadBalancer.Create("least_request", twoLevels);

        // 6 of 16 healthy (37%): panic mode, every pick balances over all endpoints.
        UpstreamEndpoint[] panic = Endpoints(_ => 0);
        for (int i = 0; i < 10; i++) panic[i].Healthy = false;
        _randomPanic = ClusterLoadBalancer.Create("random", panic);

        // 4 of 16 joined just now, ramping over an hour (so the whole run is inside the window).
        UpstreamEndpoint[] slow = Endpoints(_ => 0);
        long now = TimeProvider.System.GetTimestamp();
        for (int i = 0; i < 4; i++) slow[i].AvailableSince = now;
        _roundRobinSlowStart = ClusterLoadBalancer.Create("round_robin", slow, new LoadBalancerOptions
        {
            SlowStart = new SlowStartSettings(TimeSpan.FromHours(1), 1.0, 0.1),
        });
        foreach (ILoadBalancingPolicy p in new[] { _roundRobin, _leastRequestTwoLevels, _randomPanic, _roundRobinSlowStart }) p.Pick(default);
    }

    [Benchmark(Baseline = true)]
    public object? ClusterRoundRobin() => _roundRobin.Pick(default);

    [Benchmark]
    public object? ClusterLeastRequestTwoLevelsDegraded() => _leastRequestTwoLevels.Pick(default);

    [Benchmark]
    public object? ClusterRandomPanic() => _randomPanic.Pick(default);

    [Benchmark]
    public object? ClusterRoundRobinSlowStart() => _roundRobinSlowStart.Pick(default);
}
