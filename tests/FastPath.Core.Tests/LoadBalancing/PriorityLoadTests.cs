// PriorityLoad.Compute against the numbers in Envoy's priority-levels documentation: overprovisioning factor 1.4,
// spill-over to lower levels, normalisation below 100% total health, and panic per level.
using FastPath.LoadBalancing;

namespace FastPath.Core.Tests.LoadBalancing;

public class PriorityLoadTests
{
    private static (int[] Loads, bool[] Panic) Compute(int[] healthy, int[] total, int panicThreshold = 50)
    {
        var loads = new int[healthy.Length];
        var panic = new bool[healthy.Length];
        PriorityLoad.Compute(healthy, total, panicThreshold, loads, panic);
        return (loads, panic);
    }

    [Theory]
    // Envoy docs table (P0 healthy % -> P0/P1 load), with P1 fully healthy.
    [InlineData(4, 4, new[] { 100, 0 })]
    [InlineData(3, 4, new[] { 100, 0 })]   // 75% x 1.4 = 105 -> capped at 100
    [InlineData(1, 4, new[] { 35, 65 })]   // 25% x 1.4 = 35; the rest spills to P1
    [InlineData(0, 4, new[] { 0, 100 })]
    [InlineData(7, 10, new[] { 98, 2 })]   // 70% x 1.4 = 98
    [InlineData(5, 10, new[] { 70, 30 })]
    public void Compute_TwoLevels_P0LoadIsHealthTimesOverprovisioning(int p0Healthy, int p0Total, int[] expected)
    {
        (int[] loads, bool[] panic) = Compute([p0Healthy, 4], [p0Total, 4]);

        Assert.Equal(expected, loads);
        Assert.Equal([false, false], panic); // P1 covers the rest: total health is 100%, nobody panics
    }

    [Fact]
    public void Compute_ThreeLevels_SpillsInOrder()
    {
        // P0 20% -> 28, P1 40% -> 56, P2 100% -> 100: P0 28, P1 56, P2 the remaining 16.
        (int[] loads, _) = Compute([1, 2, 5], [5, 5, 5]);
        Assert.Equal([28, 56, 16], loads);
    }

    [Fact]
    public void Compute_TotalHealthBelow100_LoadsNormalisedToSum100()
    {
        // P0 20% -> 28, P1 20% -> 28: total 56, so each level's load is scaled by 100/56 (50 each).
        (int[] loads, bool[] panic) = Compute([1, 1], [5, 5]);

        Assert.Equal(100, loads.Sum());
        Assert.Equal([50, 50], loads);
        Assert.Equal([true, true], panic); // both under 50% healthy, and no level can cover for them
    }

    [Theory]
    [InlineData(2, 5, 50, true)]    // 40% < 50: panic
    [InlineData(3, 5, 50, false)]   // 60%
    [InlineData(2, 5, 30, false)]   // 40% >= 30
    [InlineData(2, 5, 0, false)]    // 0 disables panic
    [InlineData(4, 5, 90, false)]   // 80% x 1.4 >= 100: total health is full, panic never applies
    public void Compute_SingleLevel_PanicBelowThreshold(int healthy, int total, int threshold, bool expectPanic)
    {
        (int[] loads, bool[] panic) = Compute([healthy], [total], threshold);
        Assert.Equal([100], loads);
        Assert.Equal(expectPanic, panic[0]);
    }

    [Fact]
    public void Compute_NothingHealthy_AllToP0InPanic()
    {
        (int[] loads, bool[] panic) = Compute([0, 0], [3, 3]);
        Assert.Equal([100, 0], loads);
        Assert.True(panic[0]);
    }

    [Fact]
    public void Compute_NothingHealthyPanicOff_AllToP0NoPanic()
    {
        (int[] loads, bool[] panic) = Compute([0], [3], panicThreshold: 0);
        Assert.Equal([100], loads);
        Assert.False(panic[0]);
    }
}
