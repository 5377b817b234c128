// ClusterLoadBalancer: priority levels with failover, panic mode, slow start, all deterministic (seeded random,
// manual clock) and allocation-free per pick.
using System.Net;
using FastPath.LoadBalancing;
using FastPath.Upstream;
using FastPath.Upstream.Pools;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.LoadBalancing;

public class ClusterLoadBalancerTests
{
    private static readonly PoolSettings Settings = new(16, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

    /// <summary>Endpoints 10.1.0.1:8080, ... at the given priorities, weight 1.</summary>
    internal static UpstreamEndpoint[] AtPriorities(params int[] priorities)
    {
        var endpoints = new UpstreamEndpoint[priorities.Length];
        for (int i = 0; i < priorities.Length; i++)
        {
            var address = new IPEndPoint(new IPAddress([10, 1, 0, (byte)(i + 1)]), 8080);
            var pool = new Http1ConnectionPool(address.ToString(), address, null!, Settings);
            endpoints[i] = new UpstreamEndpoint(address.Address.ToString(), 8080, 1, address, pool, priorities[i]);
        }
        return endpoints;
    }

    internal static ClusterLoadBalancer Create(string policy, UpstreamEndpoint[] endpoints, int panicThreshold = 50,
        SlowStartSettings? slowStart = null, TimeProvider? time = null, ulong seed = 7) =>
        ClusterLoadBalancer.Create(policy, endpoints, new LoadBalancerOptions
        {
            Random = new SeededRandom(seed),
            Time = time,
            HealthyPanicThreshold = panicThreshold,
            SlowStart = slowStart,
        });

    private static int[] CountPicks(ILoadBalancingPolicy policy, UpstreamEndpoint[] endpoints, int picks = Picks) =>
        Counts(policy, endpoints, _ => default, picks);

    public static TheoryData<string> Policies => ["round_robin", "random", "least_request", "peak_ewma", "ring_hash", "maglev"];

    [Theory]
    [MemberData(nameof(Policies))]
    public void Pick_AllP0Healthy_OnlyP0(string policy)
    {
        UpstreamEndpoint[] endpoints = AtPriorities(0, 0, 1, 1);
        int[] counts = CountPicks(Create(policy, endpoints), endpoints);
        Assert.Equal(0, counts[2] + counts[3]);
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void Pick_AllP0Down_FailsOverToP1(string policy)
    {
        UpstreamEndpoint[] endpoints = AtPriorities(0, 0, 1);
        ClusterLoadBalancer balancer = Create(policy, endpoints);
        endpoints[0].Healthy = false;
        endpoints[1].Healthy = false;

        int[] counts = CountPicks(balancer, endpoints, 1000);

        Assert.Equal([0, 0, 1000], counts);
        Assert.Equal(0, balancer.PanicPicks);
    }

    [Fact]
    public void Pick_ThreeOfFourHealthyAtP0_AllLoadStaysAtP0()
    {
        UpstreamEndpoint[] endpoints = AtPriorities(0, 0, 0, 0, 1, 1, 1, 1);
        ClusterLoadBalancer balancer = Create("random", endpoints);
        endpoints[0].Healthy = false;

        int[] counts = CountPicks(balancer, endpoints);

        Assert.Equal(0, counts[0]);
        Assert.Equal(0, counts[4..].Sum()); // 75% x 1.4 = 105%: P0 keeps 100% of the load
        Assert.Equal([(0, 100, false), (1, 0, false)], balancer.Levels());
    }

    [Fact]
    public void Pick_OneOfFourHealthyAtP0_35PercentP0_65PercentP1()
    {
        UpstreamEndpoint[] endpoints = AtPriorities(0, 0, 0, 0, 1, 1, 1, 1);
        ClusterLoadBalancer balancer = Create("round_robin", endpoints);
        for (int i = 1; i < 4; i++) endpoints[i].Healthy = false;

        int[] counts = CountPicks(balancer, endpoints);

        Assert.Equal([(0, 35, false), (1, 65, false)], balancer.Levels());
        Assert.InRange(counts[0] / (double)Picks, 0.33, 0.37);
        Assert.InRange(counts[4..].Sum() / (double)Picks, 0.63, 0.67);
        Assert.Equal(0, counts[1] + counts[2] + counts[3]);
    }

    [Fact]
    public void Pick_HealthRecovers_LoadsRecomputedAndTrafficReturnsToP0()
    {
        UpstreamEndpoint[] endpoints = AtPriorities(0, 1);
        ClusterLoadBalancer balancer = Create("round_robin", endpoints);
        endpoints[0].Healthy = false;
        Assert.Same(endpoints[1], balancer.Pick(default));

        endpoints[0].Healthy = true;

        Assert.Equal([Picks, 0], CountPicks(balancer, endpoints));
    }

    [Fact]
    public void Pick_HashedRequest_LevelFollowsKey()
    {
        UpstreamEndpoint[] endpoints = AtPriorities(0, 0, 0, 0, 1, 1, 1, 1);
        ClusterLoadBalancer balancer = Create("ring_hash", endpoints);
        for (int i = 1; i < 4; i++) endpoints[i].Healthy = false;

        for (int k = 0; k < 200; k++)
        {
            UpstreamEndpoint first = balancer.Pick(Keyed(Key(k)))!;
            for (int again = 0; again < 3; again++) Assert.Same(first, balancer.Pick(Keyed(Key(k))));
        }
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void Pick_BelowPanicThreshold_SpreadsOverAllEndpoints(string policy)
    {
        UpstreamEndpoint[] endpoints = Endpoints(1, 1, 1, 1, 1);
        ClusterLoadBalancer balancer = Create(policy, endpoints);
        for (int i = 0; i < 3; i++) endpoints[i].Healthy = false; // 40% healthy < 50%

        int[] counts = Counts(balancer, endpoints, i => Keyed(Key(i)));

        Assert.All(counts, c => Assert.True(c > Picks / 10, $"counts [{string.Join(", ", counts)}]"));
        Assert.Equal(Picks, balancer.PanicPicks);
        Assert.True(balancer.Levels().Single().Panic);
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void Pick_AtPanicThreshold_OnlyHealthy(string policy)
    {
        UpstreamEndpoint[] endpoints = Endpoints(1, 1, 1, 1);
        ClusterLoadBalancer balancer = Create(policy, endpoints);
        for (int i = 0; i < 2; i++) endpoints[i].Healthy = false; // 50% is not below 50%

        int[] counts = Counts(balancer, endpoints, i => Keyed(Key(i)));

        Assert.Equal(0, counts[0] + counts[1]);
        Assert.Equal(0, balancer.PanicPicks);
    }

    [Fact]
    public void Pick_PanicDisabledNoneHealthy_Null()
    {
        UpstreamEndpoint[] endpoints = Endpoints(1, 1);
        ClusterLoadBalancer balancer = Create("round_robin", endpoints, panicThreshold: 0);
        foreach (UpstreamEndpoint e in endpoints) e.Healthy = false;
        Assert.Null(balancer.Pick(default));
    }

    [Fact]
    public void Pick_NoneHealthyPanicOn_StillPicks()
    {
        // Envoy: with nothing healthy, balancing over everything beats refusing every request.
        UpstreamEndpoint[] endpoints = Endpoints(1, 1);
        ClusterLoadBalancer balancer = Create("least_request", endpoints);
        foreach (UpstreamEndpoint e in endpoints) e.Healthy = false;
        Assert.NotNull(balancer.Pick(default));
    }

    [Fact]
    public void Pick_PriorityLevelInPanic_SpreadsWithinThatLevelOnly()
    {
        // P0 1 of 3 healthy (33% -> 46), P1 1 of 3 (46): total 92 < 100, both levels in panic; half the load each.
        UpstreamEndpoint[] endpoints = AtPriorities(0, 0, 0, 1, 1, 1);
        ClusterLoadBalancer balancer = Create("random", endpoints);
        foreach (int i in new[] { 1, 2, 4, 5 }) endpoints[i].Healthy = false;

        int[] counts = CountPicks(balancer, endpoints);

        Assert.InRange(counts[..3].Sum() / (double)Picks, 0.47, 0.53);
        Assert.All(counts, c => Assert.InRange(c / (double)Picks, 0.13, 0.20));
    }

    [Fact]
    public void SlowStart_NewEndpoint_WeightRampsOverWindow()
    {
        var time = new ManualTimeProvider();
        UpstreamEndpoint[] endpoints = Endpoints(1, 1);
        var slow = new SlowStartSettings(TimeSpan.FromSeconds(30), Aggression: 1.0, MinWeightFraction: 0.1);
        ClusterLoadBalancer balancer = Create("random", endpoints, slowStart: slow, time: time);
        endpoints[1].AvailableSince = time.GetTimestamp();

        // Share of the new endpoint = f / (1 + f) with f = max(10%, t / window).
        AssertShare(0.1 / 1.1);                  // t = 0: the 10% floor
        time.Advance(TimeSpan.FromSeconds(15));
        AssertShare(0.5 / 1.5);                  // halfway: half its weight
        time.Advance(TimeSpan.FromSeconds(15));
        AssertShare(0.5);                        // window over: full weight

        void AssertShare(double expected)
        {
            int[] counts = CountPicks(balancer, endpoints, 20_000);
            double share = counts[1] / 20_000.0;
            Assert.True(Math.Abs(share - expected) < 0.02, $"new endpoint got {share:P1}, expected {expected:P1}");
        }
    }

    [Theory]
    [InlineData(1.0, 0.25, 0.25)]
    [InlineData(2.0, 0.25, 0.5)]     // sqrt(0.25): aggression above 1 ramps faster early on
    [InlineData(0.5, 0.25, 0.1)]     // 0.25^2 = 0.0625, raised to the 10% floor
    [InlineData(1.0, 0.0, 0.1)]
    [InlineData(1.0, 1.0, 1.0)]
    public void SlowStartSettings_Factor_FollowsEnvoyFormula(double aggression, double elapsedFraction, double expected)
    {
        var s = new SlowStartSettings(TimeSpan.FromSeconds(60), aggression, 0.1);
        Assert.Equal(expected, s.Factor(TimeSpan.FromSeconds(60 * elapsedFraction)), 6);
    }

    [Fact]
    public void SlowStart_RoundRobin_NewEndpointGetsReducedShare()
    {
        var time = new ManualTimeProvider();
        UpstreamEndpoint[] endpoints = Endpoints(1, 1, 1, 1);
        var slow = new SlowStartSettings(TimeSpan.FromSeconds(10), 1.0, 0.1);
        ClusterLoadBalancer balancer = Create("round_robin", endpoints, slowStart: slow, time: time);
        endpoints[3].AvailableSince = time.GetTimestamp();
        time.Advance(TimeSpan.FromSeconds(5)); // factor 0.5: share 0.5 / 3.5

        int[] counts = CountPicks(balancer, endpoints, 20_000);

        Assert.InRange(counts[3] / 20_000.0, 0.5 / 3.5 - 0.02, 0.5 / 3.5 + 0.02);
    }

    [Fact]
    public void SlowStart_EndpointReturnsToHealth_RampsAgain()
    {
        var time = new ManualTimeProvider();
        UpstreamEndpoint[] endpoints = Endpoints(1, 1);
        ClusterLoadBalancer balancer = Create("least_request", endpoints, slowStart: new SlowStartSettings(TimeSpan.FromSeconds(30), 1, 0.1), time: time);
        endpoints[1].SetHealthFlag(FastPath.Upstream.Health.EndpointHealthFlags.OutlierEjected, true, time.GetTimestamp());
        time.Advance(TimeSpan.FromSeconds(60));
        endpoints[1].SetHealthFlag(FastPath.Upstream.Health.EndpointHealthFlags.OutlierEjected, false, time.GetTimestamp());

        int[] counts = CountPicks(balancer, endpoints, 20_000);

        Assert.Equal(time.GetTimestamp(), endpoints[1].AvailableSince);
        Assert.True(counts[1] < 20_000 * 0.2, $"recovered endpoint got {counts[1]} of 20000 at the start of its window");
    }
}

/// <summary>
/// Runs alone: a health change anywhere in the process makes every balancer recompute its loads once (an allocation
/// by design, off the per-request path), and tests flipping health in parallel would show up in the measurement.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationMeasurementCollection
{
    public const string Name = "allocation measurement";
}

[Collection(AllocationMeasurementCollection.Name)]
public class ClusterLoadBalancerAllocationTests
{
    public static TheoryData<string> Policies => ClusterLoadBalancerTests.Policies;

    [Theory]
    [MemberData(nameof(Policies))]
    public void Pick_PrioritiesPanicAndSlowStart_AllocatesNothing(string policy)
    {
        UpstreamEndpoint[] endpoints = ClusterLoadBalancerTests.AtPriorities(0, 0, 0, 1, 1);
        var time = new ManualTimeProvider();
        var slow = new SlowStartSettings(TimeSpan.FromSeconds(30), 1.5, 0.1);
        ClusterLoadBalancer balancer = ClusterLoadBalancerTests.Create(policy, endpoints, slowStart: policy is "round_robin" or "random" or "least_request" ? slow : null, time: time);
        endpoints[0].Healthy = false;
        endpoints[1].Healthy = false;
        endpoints[4].AvailableSince = time.GetTimestamp();
        balancer.Pick(default); // health changed: the loads are recomputed once, here

        Assert.Equal(0, AllocatedBytesPerPicks(balancer, Keys(Picks)));
    }
}

[Collection(AllocationMeasurementCollection.Name)]
public class ClusterLoadBalancerPanicAllocationTests
{
    public static TheoryData<string> Policies => ClusterLoadBalancerTests.Policies;

    [Theory]
    [MemberData(nameof(Policies))]
    public void Pick_InPanic_AllocatesNothing(string policy)
    {
        UpstreamEndpoint[] endpoints = Endpoints(1, 1, 1, 1);
        ClusterLoadBalancer balancer = ClusterLoadBalancerTests.Create(policy, endpoints);
        for (int i = 0; i < 3; i++) endpoints[i].Healthy = false;
        balancer.Pick(default);

        Assert.Equal(0, AllocatedBytesPerPicks(balancer, Keys(Picks)));
        Assert.True(balancer.PanicPicks > 0);
    }
}
