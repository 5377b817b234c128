// Result shapes and their two renderings: results.json for tools and trend tracking, results.md for people.
// Headline numbers are medians over repeats, so one noisy run cannot move them.

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastPath.Scenarios.Runner;

/// <summary>One measured wrk run against one target.</summary>
internal sealed record RunSample(
    [property: JsonPropertyName("repeat")] int Repeat,
    [property: JsonPropertyName("rps")] double Rps,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("p50_ms")] double? P50Ms,
    [property: JsonPropertyName("p99_ms")] double? P99Ms,
    [property: JsonPropertyName("cpu_s")] double CpuSeconds,
    [property: JsonPropertyName("cpu_s_per_10k")] double? CpuSecondsPer10K,
    [property: JsonPropertyName("rss_mb")] double RssMb,
    [property: JsonPropertyName("alloc_bytes_per_req")] double? AllocBytesPerRequest,
    [property: JsonPropertyName("errors")] long Errors,
    [property: JsonPropertyName("connect_errors")] long ConnectErrors,
    [property: JsonPropertyName("read_errors")] long ReadErrors,
    [property: JsonPropertyName("write_errors")] long WriteErrors,
    [property: JsonPropertyName("timeouts")] long Timeouts,
    [property: JsonPropertyName("non_2xx_3xx")] long Non2xx3xx);

/// <summary>Medians of one (scenario, target) pair; errors is the total over all runs, since any is a finding.</summary>
internal sealed record TargetResult(
    [property: JsonPropertyName("scenario")] string Scenario,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("rps")] double Rps,
    [property: JsonPropertyName("p50_ms")] double? P50Ms,
    [property: JsonPropertyName("p99_ms")] double? P99Ms,
    [property: JsonPropertyName("cpu_s_per_10k")] double? CpuSecondsPer10K,
    [property: JsonPropertyName("rss_mb")] double? RssMb,
    [property: JsonPropertyName("alloc_bytes_per_req")] double? AllocBytesPerRequest,
    [property: JsonPropertyName("errors")] long Errors,
    [property: JsonPropertyName("runs")] IReadOnlyList<RunSample> Runs)
{
    public static TargetResult From(string scenario, string target, IReadOnlyList<RunSample> runs)
    {
        long errors = 0;
        foreach (var run in runs)
        {
            errors += run.Errors;
        }

        return new TargetResult(
            scenario,
            target,
            Median(runs.Select(r => (double?)r.Rps)) ?? 0,
            Median(runs.Select(r => r.P50Ms)),
            Median(runs.Select(r => r.P99Ms)),
            Median(runs.Select(r => r.CpuSecondsPer10K)),
            Median(runs.Select(r => (double?)r.RssMb)),
            Median(runs.Select(r => r.AllocBytesPerRequest)),
            errors,
            runs);
    }

    /// <summary>Median of the values present; null when none is (e.g. no allocation metric exported).</summary>
    public static double? Median(IEnumerable<double?> values)
    {
        var sorted = values.Where(v => v.HasValue).Select(v => v!.Value).Order().ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(List<TargetResult>))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;

internal static class Report
{
    public static string ToJson(List<TargetResult> results) => JsonSerializer.Serialize(results, ReportJsonContext.Default.ListTargetResult);

    public static string ToMarkdown(RunOptions options, IReadOnlyList<TargetResult> results, IReadOnlyList<string> environment)
    {
        var md = new StringBuilder();
        md.AppendLine("# FastPath end-to-end scenarios");
        md.AppendLine();
        foreach (var line in environment)
        {
            md.Append("- ").AppendLine(line);
        }

        foreach (var scenario in options.Scenarios)
        {
            var rows = results.Where(r => r.Scenario == scenario.Name).ToList();
            var origin = rows.FirstOrDefault(r => r.Target == ScenarioRunner.OriginTarget);
            md.AppendLine();
            md.Append(CultureInfo.InvariantCulture, $"## {scenario.Name}").AppendLine();
            md.AppendLine();
            md.Append(CultureInfo.InvariantCulture,
                    $"`wrk -t1 -c{scenario.ConnectionsFor(options.Connections)} -d{options.DurationSeconds}s{(scenario.NewConnectionPerRequest ? " -H 'Connection: close'" : "")}` on `{scenario.Path}`, median of {options.Repeats}")
                .AppendLine();
            md.AppendLine();
            md.AppendLine("| target | req/s | p50 | p99 | CPU-s/10k | RSS MB | ratio to origin |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var row in rows)
            {
                var ratio = origin is { Rps: > 0 } ? (row.Rps / origin.Rps).ToString("0.00", CultureInfo.InvariantCulture) : "-";
                md.Append(CultureInfo.InvariantCulture,
                        $"| {row.Target} | {row.Rps:N0} | {Ms(row.P50Ms)} | {Ms(row.P99Ms)} | {Num(row.CpuSecondsPer10K, "0.000")} | {Num(row.RssMb, "0.0")} | {ratio} |")
                    .AppendLine();
            }

            var notes = new List<string>();
            foreach (var row in rows)
            {
                if (row.AllocBytesPerRequest is { } alloc)
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"{row.Target} allocated {alloc:N1} B/request (median)"));
                }

                if (row.Errors > 0)
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"{row.Target}: {row.Errors:N0} errors over {row.Runs.Count} runs ({ErrorBreakdown(row.Runs)})"));
                }
            }

            if (notes.Count > 0)
            {
                md.AppendLine();
                foreach (var note in notes)
                {
                    md.Append("- ").AppendLine(note);
                }
            }

            // FastPath against the baseline build and the peers, repeat by repeat (the origin and the routed
            // gateway have their own gates above).
            var fastPath = rows.FirstOrDefault(r => r.Target == ScenarioRunner.FastPathTarget);
            var others = rows.Where(r => r.Target is not (ScenarioRunner.OriginTarget or ScenarioRunner.FastPathTarget or ScenarioRunner.RoutedTarget)).ToList();
            if (fastPath is not null && others.Count > 0)
            {
                md.AppendLine();
                md.Append(PairedComparison.Markdown(others.Select(o => (fastPath.Target, o.Target, PairedComparison.Ratios(fastPath.Runs, o.Runs)))));
            }
        }

        return md.ToString();
    }

    private static string ErrorBreakdown(IReadOnlyList<RunSample> runs) => string.Create(
        CultureInfo.InvariantCulture,
        $"connect {runs.Sum(r => r.ConnectErrors)}, read {runs.Sum(r => r.ReadErrors)}, write {runs.Sum(r => r.WriteErrors)}, timeout {runs.Sum(r => r.Timeouts)}, non-2xx/3xx {runs.Sum(r => r.Non2xx3xx)}");

    private static string Ms(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) + " ms" : "-";

    private static string Num(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}
