// Drives h2load (nghttp2's HTTP/2 load generator, pinned next to the origin) for the HTTP/2 scenarios and reads its
// summary plus its per-request log, from which p50/p99 are computed (h2load itself prints only min/max/mean/sd).

using System.Globalization;
using System.Text.RegularExpressions;

namespace FastPath.Scenarios.Runner;

/// <summary>One h2load run. Latencies are null when no request completed.</summary>
internal sealed record H2LoadResult(double RequestsPerSecond, long Succeeded, long Failed, long Errored, long Non2xx, double? P50Ms, double? P99Ms)
{
    public long Errors => Failed + Errored + Non2xx;
}

internal static partial class H2Load
{
    public const string Path = "/usr/bin/h2load";
    public const int Core = 1;

    /// <param name="url">https://127.0.0.1:PORT/path (TLS, ALPN h2) or http:// for h2c with prior knowledge.</param>
    /// <param name="clients">-c: connections.</param>
    /// <param name="streams">-m: concurrent streams per connection.</param>
    public static async Task<H2LoadResult> RunAsync(string url, int clients, int streams, int durationSeconds, string workDirectory,
        CancellationToken cancellationToken, int? requestBodyBytes = null)
    {
        // Its own directory: h2load writes its log with one write(2) per request, and a gateway watches its config
        // file's directory (the gateways' configs sit in the work directory), so a log beside them would be
        // measured as the gateway's cost.
        string own = System.IO.Path.Combine(workDirectory, "h2load");
        Directory.CreateDirectory(own);
        string log = System.IO.Path.Combine(own, $"h2load-{Guid.NewGuid():N}.log");
        var args = new List<string>
        {
            "-t1",
            "-c" + clients.ToString(CultureInfo.InvariantCulture),
            "-m" + streams.ToString(CultureInfo.InvariantCulture),
            "-D" + durationSeconds.ToString(CultureInfo.InvariantCulture),
            "--warm-up-time=1",
            "--log-file=" + log,
        };
        if (requestBodyBytes is int body)
        {
            string file = System.IO.Path.Combine(own, $"h2load-body-{body}.bin");
            if (!File.Exists(file)) File.WriteAllBytes(file, new byte[body]);
            args.Add("-d" + file);
        }
        args.Add(url);

        var h2load = ChildProcess.StartPinned("h2load", Core, Path, args, keepStdout: true);
        try
        {
            int? exit = await h2load.WaitForExitAsync(TimeSpan.FromSeconds(durationSeconds + 20), cancellationToken);
            if (exit is null) throw new ScenarioException($"h2load against {url} did not finish within {durationSeconds + 20} s");
            if (exit != 0) throw new ScenarioException($"h2load exited with {exit}: {h2load.Tail()}");
            H2LoadResult? parsed = Parse(h2load.StandardOutput, File.Exists(log) ? File.ReadLines(log) : []);
            return parsed ?? throw new ScenarioException($"could not parse h2load output:{Environment.NewLine}{h2load.StandardOutput}");
        }
        finally
        {
            h2load.Kill();
            try { File.Delete(log); } catch (IOException) { }
        }
    }

    /// <summary>Parses h2load 1.5x's summary and its --log-file lines ("start-µs TAB status TAB duration-µs").</summary>
    public static H2LoadResult? Parse(string output, IEnumerable<string> logLines)
    {
        Match rps = FinishedLine().Match(output);
        Match requests = RequestsLine().Match(output);
        Match codes = StatusLine().Match(output);
        if (!rps.Success || !requests.Success) return null;

        var durations = new List<long>();
        foreach (string line in logLines)
        {
            string[] fields = line.Split('\t');
            if (fields.Length >= 3 && long.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out long us)) durations.Add(us);
        }
        durations.Sort();
        double? Percentile(double p) => durations.Count == 0 ? null : durations[Math.Min(durations.Count - 1, (int)Math.Ceiling(p * durations.Count) - 1)] / 1000.0;

        long non2xx = 0;
        if (codes.Success)
        {
            non2xx = long.Parse(codes.Groups["c3"].Value, CultureInfo.InvariantCulture) + long.Parse(codes.Groups["c4"].Value, CultureInfo.InvariantCulture)
                     + long.Parse(codes.Groups["c5"].Value, CultureInfo.InvariantCulture);
        }
        return new H2LoadResult(
            double.Parse(rps.Groups["rps"].Value, CultureInfo.InvariantCulture),
            long.Parse(requests.Groups["ok"].Value, CultureInfo.InvariantCulture),
            long.Parse(requests.Groups["failed"].Value, CultureInfo.InvariantCulture),
            long.Parse(requests.Groups["errored"].Value, CultureInfo.InvariantCulture),
            non2xx,
            Percentile(0.50),
            Percentile(0.99));
    }

    [GeneratedRegex(@"^finished in [^,]+, (?<rps>[0-9.]+) req/s", RegexOptions.Multiline)]
    private static partial Regex FinishedLine();

    [GeneratedRegex(@"^requests: [0-9]+ total, [0-9]+ started, [0-9]+ done, (?<ok>[0-9]+) succeeded, (?<failed>[0-9]+) failed, (?<errored>[0-9]+) errored", RegexOptions.Multiline)]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"^status codes: [0-9]+ 2xx, (?<c3>[0-9]+) 3xx, (?<c4>[0-9]+) 4xx, (?<c5>[0-9]+) 5xx", RegexOptions.Multiline)]
    private static partial Regex StatusLine();
}
