// RingHashPolicy: a Ketama ring of xxHash64("host:port_i") points, weight x a power-of-two points per endpoint.
using FastPath.LoadBalancing;
using FastPath.Upstream;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.LoadBalancing;

public class RingHashPolicyTests
{
    private static RingHashPolicy Create(UpstreamEndpoint[] endpoints) => new(endpoints, random: new SeededRandom(31));

    [Fact]
    public void Pick_SameKey_SameEndpoint() => ConsistentHashChecks.SameKeySameEndpoint(Create);

    [Fact]
    public void Pick_OneOfTenRemoved_AboutOneTenthOfKeysMoveAndSpread() => ConsistentHashChecks.RemovalMovesAboutOneNth(Create);

    [Fact]
    public void Pick_OwnerUnhealthy_ItsKeysSpreadOthersStay() => ConsistentHashChecks.UnhealthyKeysSpreadAndOthersStay(Create);

    [Fact]
    public void Pick_NoHashKey_RandomPoint() => ConsistentHashChecks.NoKey_RandomPick(Create);

    [Theory]
    [InlineData(1024)]
    [InlineData(65536)]
    public void Pick_ManyKeys_SharesFollowWeights(int minRingSize)
    {
        int[] weights = [1, 2, 3, 4];
        var endpoints = Endpoints(weights);
        var policy = new RingHashPolicy(endpoints, minRingSize);

        AssertWeighted(Counts(policy, endpoints, i => Keyed(Key(i))), weights);
    }

    [Theory]
    [InlineData(new[] { 1, 1, 1, 1 }, 1024, 1024)]
    [InlineData(new[] { 1, 2, 3, 4 }, 1024, 1280)]
    [InlineData(new[] { 1, 3 }, 10, 16)]
    [InlineData(new[] { 1 }, 1, 1)]
    [InlineData(new[] { 600, 1000 }, 1024, 1600)]
    public void BuildRing_Weights_PointsProportionalAtLeastMinimumAndPowerOfTwoPerWeight(int[] weights, int minRingSize, int expectedSize)
    {
        var (hashes, owners) = RingHashPolicy.BuildRing(Endpoints(weights), minRingSize);

        Assert.Equal(expectedSize, hashes.Length);
        Assert.True(hashes.Length >= minRingSize);
        for (int i = 1; i < hashes.Length; i++) Assert.True(hashes[i - 1] <= hashes[i]);
        double total = weights.Sum();
        for (int e = 0; e < weights.Length; e++)
            Assert.InRange(owners.Count(o => o == e), Math.Floor(weights[e] / total * hashes.Length) - 1, Math.Ceiling(weights[e] / total * hashes.Length) + 1);
    }

    [Fact]
    public void BuildRing_EndpointRemoved_SurvivorsKeepEveryPoint()
    {
        var all = Endpoints(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var (before, _) = RingHashPolicy.BuildRing(all, RingHashPolicy.DefaultMinRingSize);
        var (after, _) = RingHashPolicy.BuildRing(all[1..], RingHashPolicy.DefaultMinRingSize);

        Assert.Subset(before.ToHashSet(), after.ToHashSet());
        Assert.Equal(before.Length / 10 * 9, after.Length);
    }

    [Fact]
    public void Pick_KeyAfterLastPoint_WrapsToFirst()
    {
        var endpoints = Endpoints(1, 1, 1);
        var policy = new RingHashPolicy(endpoints);
        var (_, owners) = RingHashPolicy.BuildRing(endpoints, RingHashPolicy.DefaultMinRingSize);
        Assert.Same(endpoints[owners[0]], policy.Pick(Keyed(ulong.MaxValue)));
        Assert.Same(endpoints[owners[0]], policy.Pick(Keyed(0)));
    }

    [Fact]
    public void Pick_UnhealthyEndpoints_SkippedAndNullWhenNoneHealthy()
    {
        var endpoints = Endpoints(1, 2, 3, 4, 5);
        AssertSkipsUnhealthy(Create(endpoints), endpoints, i => Keyed(Key(i)));
    }

    [Fact]
    public void Pick_NoEndpoints_Null()
    {
        Assert.Null(Create([]).Pick(Keyed(1)));
    }

    [Fact]
    public void Pick_AfterWarmUp_AllocatesNothing()
    {
        Assert.Equal(0, AllocatedBytesPerPicks(new RingHashPolicy(Endpoints(1, 2, 3, 4)), Keys(Picks)));
    }

    [Theory]
    // Reference vectors: XXH64 spec sanity checks and python-xxhash's README (seed 0), and the 32-byte stripe path.
    [InlineData("", 0UL, 0xEF46DB3751D8E999UL)]
    [InlineData("a", 0UL, 0xD24EC4F1A98C6E5BUL)]
    [InlineData("abc", 0UL, 0x44BC2CF5AD770999UL)]
    [InlineData("Nobody inspects the spammish repetition", 0UL, 0xFBCEA83C8A378BF1UL)]
    public void XxHash64_ReferenceVectors(string input, ulong seed, ulong expected)
    {
        Assert.Equal(expected, XxHash64.Hash(input, seed));
    }
}
