using FastPath.Scenarios.Runner;

namespace FastPath.Scenarios.Tests;

public class PairedRatioTests
{
    [Fact]
    public void Quantile_InterpolatesBetweenNeighbours()
    {
        double[] sorted = [1, 2, 3, 4];
        Assert.Equal(1.75, PairedRatio.Quantile(sorted, 0.25), 10);
        Assert.Equal(2.5, PairedRatio.Quantile(sorted, 0.5), 10);
        Assert.Equal(3.25, PairedRatio.Quantile(sorted, 0.75), 10);
        Assert.Equal(1, PairedRatio.Quantile(sorted, 0), 10);
        Assert.Equal(4, PairedRatio.Quantile(sorted, 1), 10);
        Assert.Equal(7, PairedRatio.Quantile([7.0], 0.25), 10);
    }

    [Fact]
    public void Of_TakesRatiosWithinEachRepeat_NotOfTheMedians()
    {
        // The machine halves its speed in the second half: both targets slow down together. Each repeat has FastPath
        // 10% ahead; the medians of the raw values would say so only by accident.
        (double?, double?)[] repeats = [(110, 100), (55, 50), (110, 100), (55, 50), (110, 100), (55, 50)];
        PairedRatio r = PairedRatio.Of("req/s", higherIsBetter: true, repeats)!;
        Assert.Equal(6, r.Repeats);
        Assert.Equal(1.1, r.Median, 10);
        Assert.Equal(1.1, r.LowerQuartile, 10);
        Assert.Equal(1.1, r.UpperQuartile, 10);
        Assert.Equal(6, r.Better);
        Assert.True(r.Clear);
    }

    [Fact]
    public void Of_CountsBetterByTheMetricsDirection()
    {
        (double?, double?)[] cpu = [(0.9, 1.0), (1.2, 1.0), (0.8, 1.0)];
        PairedRatio lower = PairedRatio.Of("CPU-s/10k", higherIsBetter: false, cpu)!;
        Assert.Equal(2, lower.Better); // 0.9 and 0.8: less CPU per request is better
        PairedRatio higher = PairedRatio.Of("req/s", higherIsBetter: true, cpu)!;
        Assert.Equal(1, higher.Better);
    }

    [Fact]
    public void Of_LeavesOutRepeatsWithoutBothValues()
    {
        (double?, double?)[] repeats = [(1.0, null), (null, 1.0), (1.0, 0.0), (2.0, 1.0), (double.NaN, 1.0)];
        PairedRatio r = PairedRatio.Of("p99", higherIsBetter: false, repeats)!;
        Assert.Equal(1, r.Repeats);
        Assert.Equal(2.0, r.Median, 10);
        Assert.Null(PairedRatio.Of("p99", higherIsBetter: false, [(null, 1.0)]));
    }

    [Fact]
    public void SignTest_MatchesTheBinomialTails()
    {
        Assert.Equal(2.0 / 64, PairedRatio.SignTestP(6, 6), 10);
        Assert.Equal(2.0 / 64, PairedRatio.SignTestP(6, 0), 10);
        Assert.Equal(2.0 * 11 / 1024, PairedRatio.SignTestP(10, 9), 10); // (1 + 10) / 2^10, both tails
        Assert.Equal(1.0, PairedRatio.SignTestP(6, 3), 10);
        Assert.True(PairedRatio.SignTestP(12, 10) < 0.05);
        Assert.True(PairedRatio.SignTestP(12, 9) > 0.05);
    }

    [Fact]
    public void Clear_NotWhenTheQuartilesExcludeOneButTheRepeatsDisagree()
    {
        // The A/A run that motivated the sign test: one build against itself, 6 starts, middle half below 1.
        (double?, double?)[] aa = [(0.86, 1), (0.90, 1), (0.92, 1), (0.97, 1), (0.98, 1), (1.04, 1)];
        PairedRatio r = PairedRatio.Of("req/s", higherIsBetter: true, aa)!;
        Assert.True(r.UpperQuartile < 1);
        Assert.Equal(1, r.Better);
        Assert.False(r.Clear); // 5 of 6 the same way: p = 0.22
    }

    [Fact]
    public void Clear_NeedsEnoughRepeats()
    {
        // Two repeats both 20% behind: their "quartiles" are the two values themselves, not a spread.
        PairedRatio r = PairedRatio.Of("req/s", higherIsBetter: true, [(0.8, 1.0), (0.8, 1.0)])!;
        Assert.False(r.Clear);
        Assert.Contains("too few repeats", PairedComparison.Markdown([("fastpath", "baseline", [r])]));
    }

    [Fact]
    public void Clear_OnlyWhenTheMiddleHalfIsOnOneSideOfOne()
    {
        // Median above 1 but the middle half straddles it: within noise.
        (double?, double?)[] noisy = [(0.80, 1), (0.95, 1), (1.05, 1), (1.08, 1), (1.30, 1)];
        PairedRatio r = PairedRatio.Of("req/s", higherIsBetter: true, noisy)!;
        Assert.Equal(1.05, r.Median, 10);
        Assert.False(r.Clear);
        Assert.Contains("within noise", PairedComparison.Markdown([("fastpath", "haproxy", [r])]));

        (double?, double?)[] behind = [(0.80, 1), (0.85, 1), (0.88, 1), (0.90, 1), (0.92, 1), (0.95, 1)];
        PairedRatio worse = PairedRatio.Of("req/s", higherIsBetter: true, behind)!;
        Assert.True(worse.Clear);
        string md = PairedComparison.Markdown([("fastpath", "haproxy", [worse])]);
        Assert.Contains("| fastpath ÷ haproxy | req/s (higher is better) | 0.890 | 0.858 – 0.915 | 0 of 6 | worse |", md);
    }
}

public class RunReportTests
{
    private static RunSample Sample(int repeat, double rps, double cpu, double p99) =>
        new(repeat, rps, (long)(rps * 3), p99 / 2, p99, cpu * rps * 3 / 10_000, cpu, 20, null, 0, 0, 0, 0, 0, 0);

    [Fact]
    public void Markdown_ComparesFastPathWithTheBaselineAndPeers_RepeatByRepeat_NotWithOriginOrRouted()
    {
        // Samples out of repeat order: pairing goes by repeat number, not by position.
        RunSample[] fastPath = [Sample(2, 1100, 0.20, 2.0), Sample(1, 2200, 0.20, 2.0), Sample(3, 1100, 0.20, 2.0), Sample(4, 2200, 0.20, 2.0), Sample(5, 1100, 0.20, 2.0), Sample(6, 2200, 0.20, 2.0)];
        RunSample[] baseline = [Sample(1, 2000, 0.25, 2.0), Sample(2, 1000, 0.25, 2.0), Sample(3, 1000, 0.25, 2.0), Sample(4, 2000, 0.25, 2.0), Sample(5, 1000, 0.25, 2.0), Sample(6, 2000, 0.25, 2.0)];
        var results = new List<TargetResult>
        {
            TargetResult.From("keepalive-small", ScenarioRunner.OriginTarget, fastPath),
            TargetResult.From("keepalive-small", ScenarioRunner.FastPathTarget, fastPath),
            TargetResult.From("keepalive-small", ScenarioRunner.RoutedTarget, fastPath),
            TargetResult.From("keepalive-small", RunOptions.BaselineTarget, baseline),
        };
        var options = RunOptions.Parse(["--gateway", "/bin/true", "--scenarios", "keepalive-small", "--repeats", "6"]);

        string md = Report.ToMarkdown(options, results, []);

        Assert.Contains("| fastpath ÷ baseline | req/s (higher is better) | 1.100 | 1.100 – 1.100 | 6 of 6 | better |", md);
        Assert.Contains("| fastpath ÷ baseline | CPU-s/10k (lower is better) | 0.800 | 0.800 – 0.800 | 6 of 6 | better |", md);
        Assert.Contains("| fastpath ÷ baseline | p99 (lower is better) | 1.000 | 1.000 – 1.000 | 0 of 6 | within noise |", md);
        Assert.DoesNotContain("÷ origin", md);
        Assert.DoesNotContain("÷ fastpath-routed", md);
    }
}
