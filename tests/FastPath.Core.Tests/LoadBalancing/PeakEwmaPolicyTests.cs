// PeakEwmaPolicy and EwmaLatency: the estimate jumps to a slower sample at once and decays with a 10 s time constant,
// so a slow endpoint is shunned at once and tried again once its estimate has decayed below the others'.
using FastPath.LoadBalancing;
using FastPath.Upstream;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.LoadBalancing;

public class PeakEwmaPolicyTests
{
    private static long Ticks(double seconds) => (long)(seconds * TimeProvider.System.TimestampFrequency);

    [Fact]
    public void EwmaLatency_NoSample_DefaultEstimate()
    {
        Assert.Equal(EwmaLatency.DefaultEstimateMs, new EwmaLatency().Cost(Ticks(100)));
    }

    [Fact]
    public void EwmaLatency_SlowerSample_BecomesThePeakAtOnce()
    {
        var ewma = new EwmaLatency();
        ewma.Record(10, Ticks(1));
        ewma.Record(200, Ticks(1));
        Assert.Equal(200, ewma.Cost(Ticks(1)));
    }

    [Fact]
    public void EwmaLatency_FasterSample_BlendedByElapsedTime()
    {
        var ewma = new EwmaLatency();
        ewma.Record(100, Ticks(0));
        ewma.Record(0, Ticks(10));
        // One time constant later the old estimate keeps weight e^-1.
        Assert.Equal(100 * Math.Exp(-1), ewma.Cost(Ticks(10)), 6);
    }

    [Fact]
    public void EwmaLatency_NoNewSample_CostDecaysWithTimeConstant()
    {
        var ewma = new EwmaLatency();
        ewma.Record(100, Ticks(5));
        Assert.Equal(100 * Math.Exp(-2), ewma.Cost(Ticks(25)), 6);
        Assert.Equal(100, ewma.Cost(Ticks(4)), 6); // a clock read before the sample does not inflate it
    }

    [Fact]
    public void Pick_EqualLatency_SharesFollowWeights()
    {
        var time = new ManualTimeProvider();
        var endpoints = Endpoints(1, 2, 3, 4);
        foreach (UpstreamEndpoint e in endpoints) e.Latency.Record(10, time.GetTimestamp());
        var policy = new PeakEwmaPolicy(endpoints, new SeededRandom(21), time);

        AssertWeighted(Counts(policy, endpoints, _ => default), [1, 2, 3, 4]);
    }

    [Fact]
    public void Pick_UnequalWeights_ShareIsWeightOverCost()
    {
        // 3 / 30 ms against 1 / 10 ms: a three-times-heavier endpoint that is three times slower gets half.
        var time = new ManualTimeProvider();
        var endpoints = Endpoints(3, 1);
        endpoints[0].Latency.Record(30, time.GetTimestamp());
        endpoints[1].Latency.Record(10, time.GetTimestamp());
        int[] counts = Counts(new PeakEwmaPolicy(endpoints, new SeededRandom(24), time), endpoints, _ => default);

        Assert.InRange(counts[0], Picks * 48 / 100, Picks * 52 / 100);
    }

    [Fact]
    public void Pick_SlowEndpoint_AvoidedThenTriedAgainAfterDecay()
    {
        var time = new ManualTimeProvider();
        var endpoints = Endpoints(1, 1, 1, 1);
        var policy = new PeakEwmaPolicy(endpoints, new SeededRandom(22), time);
        foreach (UpstreamEndpoint e in endpoints) e.Latency.Record(10, time.GetTimestamp());
        endpoints[0].Latency.Record(500, time.GetTimestamp());

        int slowPicks = 0;
        for (int i = 0; i < 1000; i++)
        {
            UpstreamEndpoint e = policy.Pick(default)!;
            if (e == endpoints[0]) slowPicks++;
            else e.Latency.Record(10, time.GetTimestamp());
        }
        Assert.Equal(0, slowPicks);

        // The fast endpoints keep serving at 10 ms while the slow one's 500 ms decays: below 10 ms after
        // 10 s x ln(50) = 39 s. After 60 s it is the cheapest and wins every comparison it is drawn into.
        for (int s = 0; s < 60; s++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            for (int k = 1; k < endpoints.Length; k++) endpoints[k].Latency.Record(10, time.GetTimestamp());
        }
        int[] counts = Counts(policy, endpoints, _ => default, picks: 1000);
        Assert.True(counts[0] > 400, $"recovered endpoint got {counts[0]} of 1000 picks");
    }

    [Fact]
    public void Pick_RequestsInFlight_MultiplyTheCost()
    {
        var time = new ManualTimeProvider();
        var endpoints = Endpoints(1, 1);
        foreach (UpstreamEndpoint e in endpoints) e.Latency.Record(10, time.GetTimestamp());
        endpoints[1].Latency.Record(30, time.GetTimestamp());
        endpoints[0].ActiveRequests = 3; // 10 ms x 4 > 30 ms x 1
        var policy = new PeakEwmaPolicy(endpoints, new SeededRandom(23), time);

        Assert.Equal(40, PeakEwmaPolicy.Cost(endpoints[0], time.GetTimestamp()), 6);
        for (int i = 0; i < 100; i++) Assert.Same(endpoints[1], policy.Pick(default));
    }

    [Fact]
    public void Pick_UnhealthyEndpoints_SkippedAndNullWhenNoneHealthy()
    {
        var endpoints = Endpoints(1, 2, 3, 4, 5);
        AssertSkipsUnhealthy(new PeakEwmaPolicy(endpoints, new SeededRandom(24), new ManualTimeProvider()), endpoints, _ => default);
    }

    [Fact]
    public void Pick_AfterWarmUp_AllocatesNothing()
    {
        var endpoints = Endpoints(1, 2, 3, 4);
        for (int i = 0; i < endpoints.Length; i++) endpoints[i].Latency.Record(5 + i, TimeProvider.System.GetTimestamp());
        Assert.Equal(0, AllocatedBytesPerPicks(new PeakEwmaPolicy(endpoints), Keys(Picks)));
    }

    [Fact]
    public void EwmaLatency_RecordedConcurrently_EndsAtTheSlowestPeak()
    {
        var ewma = new EwmaLatency();
        long now = Ticks(1);
        Parallel.For(0, 8, t =>
        {
            for (int i = 0; i < 10_000; i++) ewma.Record(i % 100 + t, now);
        });
        ewma.Record(1000, now);
        Assert.Equal(1000, ewma.Cost(now));
    }
}
