// MaglevPolicy: a 65,537-slot table filled by per-endpoint permutations, weighted as Envoy weights it; unhealthy
// owners are passed over by walking to the next slot, without rebuilding the table.
using FastPath.LoadBalancing;
using FastPath.Upstream;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.LoadBalancing;

public class MaglevPolicyTests
{
    private static MaglevPolicy Create(UpstreamEndpoint[] endpoints) => new(endpoints, new SeededRandom(41));

    [Fact]
    public void Pick_SameKey_SameEndpoint() => ConsistentHashChecks.SameKeySameEndpoint(Create);

    [Fact]
    public void Pick_OneOfTenRemoved_AboutOneTenthOfKeysMoveAndSpread() => ConsistentHashChecks.RemovalMovesAboutOneNth(Create);

    [Fact]
    public void Pick_OwnerUnhealthy_ItsKeysSpreadOthersStay() => ConsistentHashChecks.UnhealthyKeysSpreadAndOthersStay(Create);

    [Fact]
    public void Pick_NoHashKey_RandomSlot() => ConsistentHashChecks.NoKey_RandomPick(Create);

    [Theory]
    [InlineData(new[] { 1, 2, 3, 4 })]
    [InlineData(new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 })]
    [InlineData(new[] { 10, 1 })]
    public void Pick_ManyKeys_SharesFollowWeights(int[] weights)
    {
        var endpoints = Endpoints(weights);
        AssertWeighted(Counts(Create(endpoints), endpoints, i => Keyed(Key(i))), weights);
    }

    [Theory]
    [InlineData(new[] { 1, 2, 3, 4 })]
    [InlineData(new[] { 7, 1, 1, 3, 1 })]
    [InlineData(new[] { 1000, 1 })]
    public void BuildTable_Weights_EveryEndpointFillsSlotsInProportion(int[] weights)
    {
        int[] table = MaglevPolicy.BuildTable(Endpoints(weights));

        Assert.Equal(MaglevPolicy.TableSize, table.Length);
        double total = weights.Sum();
        for (int e = 0; e < weights.Length; e++)
        {
            int slots = table.Count(s => s == e);
            double expected = weights[e] / total * MaglevPolicy.TableSize;
            Assert.True(slots >= 1 && Math.Abs(slots - expected) <= Math.Max(2, expected * 0.01), $"endpoint {e}: {slots} slots, expected about {expected:F0}");
        }
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
        Assert.Equal(0, AllocatedBytesPerPicks(new MaglevPolicy(Endpoints(1, 2, 3, 4)), Keys(Picks)));
    }
}
