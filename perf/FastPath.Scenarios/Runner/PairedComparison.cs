// Two targets measured back to back in every repeat (FastPath against a peer, or against another FastPath build):
// the ratio within a repeat cancels the machine's drift, and the spread of those ratios says whether a difference
// is larger than the machine's noise. On a shared 2-core VM one target's req/s moves by 20% or more between
// repeats, so a median alone reads noise as a ranking; the middle half of the ratios and the number of repeats in
// which the first target did better are what a reader needs to tell "ahead" from "level".

using System.Globalization;
using System.Text;

namespace FastPath.Scenarios.Runner;

/// <summary>One metric's per-repeat ratios (first target ÷ second): median, middle half (25th to 75th percentile)
/// and the repeats in which the first did better (higher when <see cref="HigherIsBetter"/>, lower otherwise).</summary>
internal sealed record PairedRatio(string Metric, bool HigherIsBetter, int Repeats, double Median, double LowerQuartile, double UpperQuartile, int Better)
{
    /// <summary>Null when no repeat gave both values (a ratio with a zero or missing denominator is left out).</summary>
    public static PairedRatio? Of(string metric, bool higherIsBetter, IEnumerable<(double? First, double? Second)> repeats)
    {
        var ratios = new List<double>();
        foreach (var (first, second) in repeats)
        {
            if (first is double f && second is double s && s > 0 && double.IsFinite(f)) ratios.Add(f / s);
        }
        if (ratios.Count == 0) return null;
        ratios.Sort();
        int better = ratios.Count(r => higherIsBetter ? r > 1 : r < 1);
        return new PairedRatio(metric, higherIsBetter, ratios.Count, Quantile(ratios, 0.5), Quantile(ratios, 0.25), Quantile(ratios, 0.75), better);
    }

    /// <summary>Fewer repeats than this give quartiles that are just the extremes: no verdict is drawn from them.</summary>
    public const int RepeatsForVerdict = 5;

    /// <summary>
    /// The difference is larger than the spread the machine gave this pair: the middle half of the ratios lies wholly
    /// on one side of 1, and the repeats agree on the direction more often than chance would (two-sided sign test,
    /// p &lt; 0.05: 6 of 6, 9 of 10, 10 of 12, 13 of 16). The quartiles alone called one build "worse" than itself in
    /// an A/A run of 6 starts (2 of 6 better, middle half 0.907-0.999).
    /// </summary>
    public bool Clear => Repeats >= RepeatsForVerdict && (LowerQuartile > 1 || UpperQuartile < 1) && SignTestP(Repeats, Better) < 0.05;

    /// <summary>Two-sided sign test: the chance of a split at least this uneven if each repeat were a coin toss.</summary>
    internal static double SignTestP(int repeats, int better)
    {
        int fewer = Math.Min(better, repeats - better);
        double tail = 0, term = Math.Pow(0.5, repeats); // C(n, 0) / 2^n
        for (int i = 0; i <= fewer; i++)
        {
            tail += term;
            term = term * (repeats - i) / (i + 1);
        }
        return Math.Min(1, 2 * tail);
    }

    /// <summary>The q-quantile of sorted values, interpolated between neighbours (the common "type 7" definition).</summary>
    internal static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 1) return sorted[0];
        double position = q * (sorted.Count - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}

internal static class PairedComparison
{
    /// <summary>req/s, CPU per request and p99 of two targets' wrk runs, paired by repeat number.</summary>
    public static IReadOnlyList<PairedRatio> Ratios(IReadOnlyList<RunSample> first, IReadOnlyList<RunSample> second) =>
        Ratios(first.Join(second, f => f.Repeat, s => s.Repeat, (f, s) => (f, s)).ToList(), r => r.Rps, r => r.CpuSecondsPer10K, r => r.P99Ms);

    /// <summary>req/s, CPU per request and p99 over repeats that measured both targets.</summary>
    public static IReadOnlyList<PairedRatio> Ratios<T>(IReadOnlyList<(T First, T Second)> repeats, Func<T, double?> rps, Func<T, double?> cpuPer10K, Func<T, double?> p99Ms)
    {
        PairedRatio?[] ratios =
        [
            PairedRatio.Of("req/s", higherIsBetter: true, repeats.Select(p => (rps(p.First), rps(p.Second)))),
            PairedRatio.Of("CPU-s/10k", higherIsBetter: false, repeats.Select(p => (cpuPer10K(p.First), cpuPer10K(p.Second)))),
            PairedRatio.Of("p99", higherIsBetter: false, repeats.Select(p => (p99Ms(p.First), p99Ms(p.Second)))),
        ];
        return ratios.OfType<PairedRatio>().ToList();
    }

    /// <summary>A markdown table of the pairs' ratios, one row per metric, and the sentence that reads it.</summary>
    public static string Markdown(IEnumerable<(string First, string Second, IReadOnlyList<PairedRatio> Ratios)> pairs)
    {
        var md = new StringBuilder();
        md.AppendLine("| pair | metric | median ratio | middle half | better in | |");
        md.AppendLine("|---|---|---:|---|---:|---|");
        foreach (var (first, second, ratios) in pairs)
        {
            foreach (PairedRatio r in ratios)
            {
                string verdict = r.Repeats < PairedRatio.RepeatsForVerdict ? $"too few repeats to call (needs {PairedRatio.RepeatsForVerdict})"
                    : !r.Clear ? "within noise" : (r.Median > 1) == r.HigherIsBetter ? "better" : "worse";
                md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {first} ÷ {second} | {r.Metric} ({(r.HigherIsBetter ? "higher" : "lower")} is better) | {r.Median:0.000} | {r.LowerQuartile:0.000} – {r.UpperQuartile:0.000} | {r.Better} of {r.Repeats} | {verdict} |"));
            }
        }
        md.AppendLine();
        md.AppendLine("Ratios are taken within each repeat (both targets back to back), so the machine's drift cancels. A");
        md.AppendLine("difference counts as better or worse only when the middle half of the ratios lies on one side of 1.000");
        md.AppendLine("and the repeats agree more often than chance would (sign test, p < 0.05: 6 of 6, 9 of 10, 10 of 12,");
        md.AppendLine("13 of 16); otherwise it is within this machine's noise, whatever the median says.");
        return md.ToString();
    }
}
