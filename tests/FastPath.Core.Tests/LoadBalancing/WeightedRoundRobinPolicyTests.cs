// WeightedRoundRobinPolicy.BuildSchedule: nginx's smooth weighted round robin, precomputed. Over one cycle every
// endpoint gets exactly its (reduced) weight, and picks are interleaved rather than sent in bursts.
using FastPath.LoadBalancing;

namespace FastPath.Core.Tests.LoadBalancing;

public class WeightedRoundRobinPolicyTests
{
    [Theory]
    [InlineData(new[] { 1 })]
    [InlineData(new[] { 1, 1, 1 })]
    [InlineData(new[] { 3, 1 })]
    [InlineData(new[] { 5, 1, 1 })]
    [InlineData(new[] { 7, 3, 2, 1 })]
    [InlineData(new[] { 1000, 999 })]
    public void BuildSchedule_CoprimeWeights_EachEndpointExactlyItsWeightPerCycle(int[] weights)
    {
        int[] schedule = WeightedRoundRobinPolicy.BuildSchedule(weights);

        Assert.Equal(weights.Sum(), schedule.Length);
        Assert.Equal(weights, Counts(schedule, weights.Length));
    }

    [Fact]
    public void BuildSchedule_FiveOneOne_SmoothSequence()
    {
        // nginx's documented sequence for weights {5, 1, 1}: a a b a c a a, never b and c back to back.
        Assert.Equal([0, 0, 1, 0, 2, 0, 0], WeightedRoundRobinPolicy.BuildSchedule([5, 1, 1]));
    }

    [Theory]
    [InlineData(new[] { 5, 1, 1 })]
    [InlineData(new[] { 10, 1 })]
    [InlineData(new[] { 50, 1, 1, 1 })]
    [InlineData(new[] { 3, 3, 1 })]
    public void BuildSchedule_WeightOneEndpoints_SpreadAcrossTheCycle(int[] weights)
    {
        int[] schedule = WeightedRoundRobinPolicy.BuildSchedule(weights);
        int total = schedule.Length;

        for (int e = 0; e < weights.Length; e++)
        {
            // Between two picks of an endpoint (cyclically) there are at most ceil(total / weight) slots: it is
            // never starved for longer than its share allows, and the heavy endpoint never takes a whole run.
            List<int> at = [.. Enumerable.Range(0, total).Where(i => schedule[i] == e)];
            Assert.Equal(weights[e], at.Count);
            int maxGap = (total + weights[e] - 1) / weights[e];
            for (int k = 0; k < at.Count; k++)
            {
                int next = k + 1 < at.Count ? at[k + 1] : at[0] + total;
                Assert.True(next - at[k] <= maxGap, $"endpoint {e} waits {next - at[k]} slots (max {maxGap}) in [{string.Join(",", schedule)}]");
            }
        }
    }

    [Theory]
    [InlineData(new[] { 2, 4, 6 }, new[] { 1, 2, 3 })]
    [InlineData(new[] { 100, 100 }, new[] { 1, 1 })]
    [InlineData(new[] { 10, 5 }, new[] { 2, 1 })]
    [InlineData(new[] { 7 }, new[] { 1 })]
    public void BuildSchedule_CommonDivisor_ReducedByGcd(int[] weights, int[] reduced)
    {
        int[] schedule = WeightedRoundRobinPolicy.BuildSchedule(weights);

        Assert.Equal(reduced.Sum(), schedule.Length);
        Assert.Equal(reduced, Counts(schedule, weights.Length));
        Assert.Equal(WeightedRoundRobinPolicy.BuildSchedule(reduced), schedule);
    }

    [Theory]
    [InlineData(new[] { 1_000_000, 1 })]
    [InlineData(new[] { 3_000, 2_000, 1_000, 999 })]
    [InlineData(new[] { int.MaxValue, int.MaxValue - 1 })]
    public void BuildSchedule_LargeWeights_CappedAndProportional(int[] weights)
    {
        int[] schedule = WeightedRoundRobinPolicy.BuildSchedule(weights);

        // Scaled to about 4096 slots; every endpoint keeps at least one, so the cap may be exceeded by rounding up.
        Assert.InRange(schedule.Length, 1, 4096 + weights.Length);
        int[] counts = Counts(schedule, weights.Length);
        double total = weights.Sum(w => (double)w);
        for (int e = 0; e < weights.Length; e++)
        {
            Assert.True(counts[e] >= 1, $"endpoint {e} starved");
            double expected = weights[e] / total * schedule.Length;
            Assert.True(Math.Abs(counts[e] - expected) <= 1.5, $"endpoint {e}: {counts[e]} slots, expected about {expected:F1}");
        }
    }

    [Fact]
    public void BuildSchedule_NoEndpoints_Empty()
    {
        Assert.Empty(WeightedRoundRobinPolicy.BuildSchedule([]));
    }

    private static int[] Counts(int[] schedule, int endpoints)
    {
        int[] counts = new int[endpoints];
        foreach (int e in schedule) counts[e]++;
        return counts;
    }
}
