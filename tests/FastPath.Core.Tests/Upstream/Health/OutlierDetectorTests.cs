// OutlierDetector with a manual clock: ejection at the threshold, return after base x multiplier, growth and decay of
// the multiplier, the max_ejection_percent and min_health_percent caps, and successes resetting the counts.
using FastPath.Config;
using FastPath.Core.Tests.LoadBalancing;
using FastPath.Upstream;
using FastPath.Upstream.Health;
using Microsoft.Extensions.Logging.Abstractions;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.Upstream.Health;

public class OutlierDetectorTests
{
    private readonly ManualTimeProvider _time = new();

    private static readonly OutlierDetectionConfig FiveXx = new()
    {
        Consecutive5xx = 5, Interval = TimeSpan.FromSeconds(10), BaseEjectionTime = TimeSpan.FromSeconds(30), MaxEjectionPercent = 100,
    };

    private (OutlierDetector Detector, UpstreamEndpoint[] Endpoints) Create(OutlierDetectionConfig config, int count = 4)
    {
        var detector = new OutlierDetector("c", _time, NullLogger.Instance);
        UpstreamEndpoint[] endpoints = Endpoints(Enumerable.Repeat(1, count).ToArray());
        detector.Apply(config, endpoints);
        return (detector, endpoints);
    }

    private static bool Ejected(UpstreamEndpoint e) => (e.HealthFlags & (int)EndpointHealthFlags.OutlierEjected) != 0;

    private static void Fail(UpstreamEndpoint e, int times, int status = 503)
    {
        for (int i = 0; i < times; i++) e.ReportOutcome(ProxyError.None, status);
    }


    [Fact]
    public void Report_Consecutive5xxReachesThreshold_EjectedAtOnce()
    {
        (OutlierDetector _, UpstreamEndpoint[] endpoints) = Create(FiveXx);

        Fail(endpoints[0], 4, 500);
        Assert.True(endpoints[0].Healthy);
        Fail(endpoints[0], 1, 500);

        Assert.False(endpoints[0].Healthy);
        Assert.True(Ejected(endpoints[0]));
        Assert.Equal(1, endpoints[0].EjectionCount);
    }

    [Theory]
    [InlineData((int)ProxyError.UpstreamConnectFailure)]
    [InlineData((int)ProxyError.UpstreamReset)]
    [InlineData((int)ProxyError.UpstreamTimeout)]
    public void Report_LocalFailures_CountAs5xx(int errorValue)
    {
        var error = (ProxyError)errorValue;
        (OutlierDetector _, UpstreamEndpoint[] endpoints) = Create(FiveXx);
        for (int i = 0; i < 5; i++) endpoints[1].ReportOutcome(error, 0);
        Assert.True(Ejected(endpoints[1]));
    }

    [Theory]
    [InlineData((int)ProxyError.DownstreamReset)]
    [InlineData((int)ProxyError.UpstreamOverflow)]
    [InlineData((int)ProxyError.DownstreamTimeout)]
    public void Report_ClientSideOrLocalOverflow_NotCounted(int errorValue)
    {
        var error = (ProxyError)errorValue;
        (OutlierDetector _, UpstreamEndpoint[] endpoints) = Create(FiveXx);
        for (int i = 0; i < 20; i++) endpoints[0].ReportOutcome(error, 0);
        Assert.True(endpoints[0].Healthy);
        Assert.Equal(0, endpoints[0].Consecutive5xx);
    }

    [Fact]
    public void Report_SuccessBetweenFailures_ResetsCount()
    {
        (OutlierDetector _, UpstreamEndpoint[] endpoints) = Create(FiveXx);

        for (int round = 0; round < 10; round++)
        {
            Fail(endpoints[0], 4);
            endpoints[0].ReportOutcome(ProxyError.None, 200);
        }

        Assert.True(endpoints[0].Healthy);
        Assert.Equal(0, endpoints[0].Consecutive5xx);
        Assert.Equal(0, endpoints[0].EjectionCount);
    }

    [Fact]
    public void Report_4xx_CountsAsSuccess()
    {
        (OutlierDetector _, UpstreamEndpoint[] endpoints) = Create(FiveXx);
        Fail(endpoints[0], 4);
        endpoints[0].ReportOutcome(ProxyError.None, 404);
        Fail(endpoints[0], 4);
        Assert.True(endpoints[0].Healthy);
    }

    [Fact]
    public void Report_GatewayErrors_EjectOnlyOn502To504()
    {
        (OutlierDetector _, UpstreamEndpoint[] endpoints) = Create(new OutlierDetectionConfig
        {
            Consecutive5xx = 0, ConsecutiveGatewayErrors = 3, MaxEjectionPercent = 100,
        });

        Fail(endpoints[0], 10, 500);          // 500 is not a gateway error, and consecutive_5xx is off
        Fail(endpoints[1], 2, 502);
        Fail(endpoints[1], 1, 500);           // a 500 in between starts the gateway count over
        Fail(endpoints[1], 2, 504);
        Fail(endpoints[2], 3, 503);

        Assert.Equal([true, true, false, true], endpoints.Select(e => e.Healthy));
    }

    [Fact]
    public void Sweep_EjectionTimeOver_EndpointReturns()
    {
        (OutlierDetector detector, UpstreamEndpoint[] endpoints) = Create(FiveXx);
        Fail(endpoints[0], 5);

        _time.Advance(TimeSpan.FromSeconds(29));
        detector.Sweep(_time.GetTimestamp());
        Assert.True(Ejected(endpoints[0]));

        _time.Advance(TimeSpan.FromSeconds(1));
        detector.Sweep(_time.GetTimestamp());
        Assert.True(endpoints[0].Healthy);
        Assert.Equal(_time.GetTimestamp(), endpoints[0].AvailableSince); // slow start ramps it back in
    }

    [Fact]
    public void Eject_Repeatedly_EjectionTimeGrowsWithMultiplier()
    {
        (OutlierDetector detector, UpstreamEndpoint[] endpoints) = Create(FiveXx);
        UpstreamEndpoint e = endpoints[0];

        for (int k = 1; k <= 3; k++)
        {
            Fail(e, 5);
            Assert.True(Ejected(e));
            // Ejected for 30 s x k: still out just before, back exactly then.
            _time.Advance(TimeSpan.FromSeconds(30 * k) - TimeSpan.FromSeconds(1));
            detector.Sweep(_time.GetTimestamp());
            Assert.True(Ejected(e), $"ejection {k} ended before {30 * k}s");
            _time.Advance(TimeSpan.FromSeconds(1));
            detector.Sweep(_time.GetTimestamp());
            Assert.True(e.Healthy, $"ejection {k} lasted beyond {30 * k}s");
        }
        Assert.Equal(3, e.EjectionCount);
    }

    [Fact]
    public void Sweep_AvailableForIntervals_MultiplierDecays()
    {
        (OutlierDetector detector, UpstreamEndpoint[] endpoints) = Create(FiveXx);
        UpstreamEndpoint e = endpoints[0];
        Fail(e, 5);
        _time.Advance(TimeSpan.FromSeconds(30));
        detector.Sweep(_time.GetTimestamp());
        Fail(e, 5);                                          // second ejection: 60 s
        Assert.Equal(2, e.EjectionMultiplier);
        _time.Advance(TimeSpan.FromSeconds(60));
        detector.Sweep(_time.GetTimestamp());

        for (int i = 0; i < 2; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            detector.Sweep(_time.GetTimestamp());
        }

        Assert.Equal(0, e.EjectionMultiplier);
        Fail(e, 5);                                          // a fresh ejection lasts the base time again
        _time.Advance(TimeSpan.FromSeconds(30));
        detector.Sweep(_time.GetTimestamp());
        Assert.True(e.Healthy);
    }

    [Theory]
    [InlineData(10, 10, 1)]   // 10% of 10
    [InlineData(10, 4, 1)]    // 10% of 4 rounds to 0, but one ejection is always allowed (Envoy)
    [InlineData(50, 4, 2)]
    [InlineData(100, 4, 4)]
    [InlineData(0, 4, 0)]     // 0 turns ejection off
    public void Eject_ManyFailing_NeverBeyondMaxEjectionPercent(int percent, int endpointCount, int expectedEjected)
    {
        (OutlierDetector _, UpstreamEndpoint[] endpoints) = Create(FiveXx with { MaxEjectionPercent = percent }, endpointCount);

        foreach (UpstreamEndpoint e in endpoints) Fail(e, 5);

        Assert.Equal(expectedEjected, endpoints.Count(Ejected));
    }

    [Fact]
    public void Eject_CapReachedThenOneReturns_NextOutlierMayBeEjected()
    {
        (OutlierDetector detector, UpstreamEndpoint[] endpoints) = Create(FiveXx with { MaxEjectionPercent = 25 });
        Fail(endpoints[0], 5);
        Fail(endpoints[1], 5);
        Assert.Equal([false, true], new[] { endpoints[0].Healthy, endpoints[1].Healthy });

        _time.Advance(TimeSpan.FromSeconds(30));
        detector.Sweep(_time.GetTimestamp());
        Fail(endpoints[1], 5);

        Assert.True(Ejected(endpoints[1]));
    }

    [Fact]
    public void Eject_BelowMinHealthPercent_DetectionStandsDown()
    {
        (OutlierDetector _, UpstreamEndpoint[] endpoints) = Create(FiveXx with { MinHealthPercent = 75 });
        endpoints[3].Healthy = false; // failing active checks: 75% available

        Fail(endpoints[0], 5);        // 75% >= 75%: ejected, now 50% available
        Fail(endpoints[1], 5);        // 50% < 75%: not ejected

        Assert.True(Ejected(endpoints[0]));
        Assert.False(Ejected(endpoints[1]));
    }

    [Fact]
    public void Apply_OutlierDetectionRemoved_EjectedEndpointsReturn()
    {
        (OutlierDetector detector, UpstreamEndpoint[] endpoints) = Create(FiveXx);
        Fail(endpoints[0], 5);

        detector.Apply(null, endpoints);

        Assert.True(endpoints[0].Healthy);
        Fail(endpoints[0], 50);
        Assert.True(endpoints[0].Healthy);
    }

    [Fact]
    public void Tick_SweepsOncePerInterval()
    {
        (OutlierDetector detector, UpstreamEndpoint[] endpoints) = Create(FiveXx with { BaseEjectionTime = TimeSpan.FromSeconds(1) });
        detector.Sweep(_time.GetTimestamp());
        Fail(endpoints[0], 5);
        _time.Advance(TimeSpan.FromSeconds(5));
        detector.Tick();                       // 5 s since the last sweep < 10 s interval: nothing yet
        Assert.True(Ejected(endpoints[0]));

        _time.Advance(TimeSpan.FromSeconds(5));
        detector.Tick();

        Assert.True(endpoints[0].Healthy);
    }

    [Fact]
    public void Report_ManyThreadsFailing_CapHoldsAndEachEjectionCountedOnce()
    {
        (OutlierDetector _, UpstreamEndpoint[] endpoints) = Create(FiveXx with { MaxEjectionPercent = 30 }, 10);

        Parallel.For(0, 8, _ =>
        {
            for (int i = 0; i < 2000; i++) endpoints[i % endpoints.Length].ReportOutcome(ProxyError.None, 503);
        });

        Assert.Equal(3, endpoints.Count(Ejected));
        Assert.All(endpoints, e => Assert.InRange(e.EjectionCount, 0, 1));
    }
}
