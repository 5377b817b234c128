// LeastRequestPolicy: with equal weights two candidates, the one with fewer requests in flight wins; with unequal
// weights each endpoint's share is weight / (requests in flight + 1), so an idle cluster is balanced by weight and a
// loaded one keeps its weights too.
using FastPath.LoadBalancing;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.LoadBalancing;

public class LeastRequestPolicyTests
{
    [Theory]
    [InlineData(new[] { 1, 2, 3, 4 })]
    [InlineData(new[] { 5, 1, 1 })]
    public void Pick_NoRequestsInFlight_SharesFollowWeights(int[] weights)
    {
        var endpoints = Endpoints(weights);
        var policy = new LeastRequestPolicy(endpoints, new SeededRandom(11));

        AssertWeighted(Counts(policy, endpoints, _ => default), weights);
    }

    [Fact]
    public void Pick_OneEndpointBusy_GetsAlmostNoPicks()
    {
        var endpoints = Endpoints(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        for (int i = 0; i < endpoints.Length; i++) endpoints[i].ActiveRequests = i % 3;
        endpoints[4].ActiveRequests = 100;
        var policy = new LeastRequestPolicy(endpoints, new SeededRandom(12));

        int[] counts = Counts(policy, endpoints, _ => default);

        Assert.True(counts[4] < Picks * 5 / 100, $"busy endpoint got {counts[4]} of {Picks}");
    }

    [Fact]
    public void Pick_HeaviestEndpointBusy_StillAvoided()
    {
        // Weight draws candidates, load decides: the heaviest endpoint loses every comparison while it is busy.
        var endpoints = Endpoints(1, 2, 3, 4);
        endpoints[3].ActiveRequests = 100;
        var policy = new LeastRequestPolicy(endpoints, new SeededRandom(13));

        int[] counts = Counts(policy, endpoints, _ => default);

        Assert.True(counts[3] < Picks * 5 / 100, $"busy endpoint got {counts[3]} of {Picks}");
    }

    [Fact]
    public void Pick_RequestsInFlightTracked_LoadEvensOut()
    {
        // Drive the counter as the request path will: picks that are never completed pile up evenly.
        var endpoints = Endpoints(1, 1, 1, 1);
        var policy = new LeastRequestPolicy(endpoints, new SeededRandom(14));
        for (int i = 0; i < 4000; i++) Interlocked.Increment(ref policy.Pick(default)!.ActiveRequests);

        Assert.All(endpoints, e => Assert.InRange(e.ActiveRequests, 900, 1100));
    }

    [Fact]
    public void Pick_UnequalWeights_RequestsInFlightPileUpTowardTheWeights()
    {
        // Picks never completed pile up until 3/(a0+1) and 1/(a1+1) balance their shares: the heavy share s solves
        // s = 3(1-s) / (3(1-s) + s), s = (3 - sqrt 3) / 2 = 63.4%. P2C on counts alone would even them out to 50%.
        var endpoints = Endpoints(3, 1);
        var policy = new LeastRequestPolicy(endpoints, new SeededRandom(17));
        for (int i = 0; i < 4000; i++) Interlocked.Increment(ref policy.Pick(default)!.ActiveRequests);

        Assert.InRange(endpoints[0].ActiveRequests, 2420, 2650);
        Assert.Equal(4000, endpoints[0].ActiveRequests + endpoints[1].ActiveRequests);
    }

    [Fact]
    public void Pick_UnequalWeights_OneRequestInFlightOnHeavy_ShareIsWeightOverLoad()
    {
        // 3 / (1 + 1) against 1 / (0 + 1): the heavy endpoint takes 1.5 / 2.5 = 60% of picks.
        var endpoints = Endpoints(3, 1);
        endpoints[0].ActiveRequests = 1;
        int[] counts = Counts(new LeastRequestPolicy(endpoints, new SeededRandom(18)), endpoints, _ => default);

        Assert.InRange(counts[0], Picks * 58 / 100, Picks * 62 / 100);
    }

    [Fact]
    public void Pick_UnhealthyEndpoints_SkippedAndNullWhenNoneHealthy()
    {
        var endpoints = Endpoints(1, 2, 3, 4, 5);
        AssertSkipsUnhealthy(new LeastRequestPolicy(endpoints, new SeededRandom(15)), endpoints, _ => default);
    }

    [Fact]
    public void Pick_OneEndpoint_ReturnsIt()
    {
        var endpoints = Endpoints(3);
        Assert.Same(endpoints[0], new LeastRequestPolicy(endpoints, new SeededRandom(16)).Pick(default));
    }

    [Fact]
    public void Pick_AfterWarmUp_AllocatesNothing()
    {
        Assert.Equal(0, AllocatedBytesPerPicks(new LeastRequestPolicy(Endpoints(1, 2, 3, 4)), Keys(Picks)));
    }
}
