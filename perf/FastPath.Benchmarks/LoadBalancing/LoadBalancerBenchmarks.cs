// One pick per load-balancing policy over 16 endpoints with mixed weights, as a request makes it. Category ZeroAlloc:
// the CI gate fails if a pick allocates. Keys vary per operation so the consistent policies do not hit one cache line;
// picks return object because UpstreamEndpoint is internal.
using System.Net;
using BenchmarkDotNet.Attributes;
using FastPath.LoadBalancing;
using FastPath.Upstream;
using FastPath.Upstream.Pools;

namespace FastPath.Benchmarks.LoadBalancing;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class LoadBalancerBenchmarks
{
    private const int EndpointCount = 16;

    private ILoadBalancingPolicy _roundRobin = null!;
    private ILoadBalancingPolicy _random = null!;
    private ILoadBalancingPolicy _leastRequest = null!;
    private ILoadBalancingPolicy _peakEwma = null!;
    private ILoadBalancingPolicy _ringHash = null!;
    private ILoadBalancingPolicy _maglev = null!;
    private ulong _key;

    [GlobalSetup]
    public void Setup()
    {
        var settings = new PoolSettings(16, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var endpoints = new UpstreamEndpoint[EndpointCount];
        long now = TimeProvider.System.GetTimestamp();
        for (int i = 0; i < EndpointCount; i++)
        {
            var address = new IPEndPoint(new IPAddress([10, 0, 0, (byte)(i + 1)]), 8080);
            // The pool is never asked for a connection here, so it needs no connector.
            var pool = new Http1ConnectionPool(address.ToString(), address, null!, settings);
            endpoints[i] = new UpstreamEndpoint(address.Address.ToString(), 8080, 1 + i % 4, address, pool);
            endpoints[i].ActiveRequests = i % 5;
            endpoints[i].Latency.Record(5 + i, now);
        }
        _roundRobin = LoadBalancingPolicies.Create("round_robin", endpoints);
        _random = LoadBalancingPolicies.Create("random", endpoints);
        _leastRequest = LoadBalancingPolicies.Create("least_request", endpoints);
        _peakEwma = LoadBalancingPolicies.Create("peak_ewma", endpoints);
        _ringHash = LoadBalancingPolicies.Create("ring_hash", endpoints);
        _maglev = LoadBalancingPolicies.Create("maglev", endpoints);
    }

    private LoadBalancerContext NextKey()
    {
        // Golden-ratio increments: a cheap well-spread key sequence, standing in for a hashed header.
        _key += 0x9E3779B97F4A7C15UL;
        return new LoadBalancerContext { HashKey = _key, HasHashKey = true };
    }

    [Benchmark(Baseline = true)]
    public object? RoundRobin() => _roundRobin.Pick(default);

    [Benchmark]
    public object? Random() => _random.Pick(default);

    [Benchmark]
    public object? LeastRequest() => _leastRequest.Pick(default);

    [Benchmark]
    public object? PeakEwma() => _peakEwma.Pick(default);

    [Benchmark]
    public object? RingHash() => _ringHash.Pick(NextKey());

    [Benchmark]
    public object? Maglev() => _maglev.Pick(NextKey());
}
