// RandomPolicy: weighted random over a cumulative-weight array, seeded so every run draws the same sequence.
using FastPath.LoadBalancing;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.LoadBalancing;

public class RandomPolicyTests
{
    [Theory]
    [InlineData(new[] { 1, 2, 3, 4 })]
    [InlineData(new[] { 1, 1, 1, 1, 1, 1, 1, 1 })]
    [InlineData(new[] { 10, 1 })]
    public void Pick_ManyPicks_SharesFollowWeights(int[] weights)
    {
        var endpoints = Endpoints(weights);
        var policy = new RandomPolicy(endpoints, new SeededRandom(1));

        AssertWeighted(Counts(policy, endpoints, _ => default), weights);
    }

    [Fact]
    public void Pick_SomeUnhealthy_HealthyOnesKeepTheirRelativeWeights()
    {
        var endpoints = Endpoints(1, 2, 3, 4);
        endpoints[3].Healthy = false;
        var policy = new RandomPolicy(endpoints, new SeededRandom(2));

        int[] counts = Counts(policy, endpoints, _ => default);

        Assert.Equal(0, counts[3]);
        AssertWeighted(counts[..3], [1, 2, 3]);
    }

    [Fact]
    public void Pick_UnhealthyEndpoints_SkippedAndNullWhenNoneHealthy()
    {
        var endpoints = Endpoints(1, 2, 3, 4, 5);
        AssertSkipsUnhealthy(new RandomPolicy(endpoints, new SeededRandom(3)), endpoints, _ => default);
    }

    [Fact]
    public void Pick_NoEndpoints_Null()
    {
        Assert.Null(new RandomPolicy([], new SeededRandom(4)).Pick(default));
    }

    [Fact]
    public void Pick_AfterWarmUp_AllocatesNothing()
    {
        Assert.Equal(0, AllocatedBytesPerPicks(new RandomPolicy(Endpoints(1, 2, 3, 4)), Keys(Picks)));
    }

    [Fact]
    public void Pick_DefaultThreadLocalRandom_SpreadsOverAll()
    {
        var endpoints = Endpoints(1, 1, 1, 1);
        int[] counts = Counts(new RandomPolicy(endpoints), endpoints, _ => default);
        Assert.All(counts, c => Assert.InRange(c, 2000, 3000));
    }
}
