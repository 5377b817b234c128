// Drives wrk (pinned next to the origin, away from the proxy core) and parses its text report.

using System.Globalization;
using System.Text.RegularExpressions;

namespace FastPath.Scenarios.Runner;

/// <summary>One wrk report. Latencies are null when wrk printed no distribution (e.g. zero completed requests).</summary>
internal sealed record WrkResult(
    double RequestsPerSecond,
    long Requests,
    double? P50Ms,
    double? P99Ms,
    long ConnectErrors,
    long ReadErrors,
    long WriteErrors,
    long Timeouts,
    long Non2xx3xx)
{
    public long Errors => ConnectErrors + ReadErrors + WriteErrors + Timeouts + Non2xx3xx;
}

internal static partial class Wrk
{
    public const string Path = "/usr/bin/wrk";
    public const int Core = 1;

    public static async Task<WrkResult> RunAsync(
        int port, Scenario scenario, int connections, int durationSeconds, CancellationToken cancellationToken, string? host = null,
        string scheme = "http")
    {
        var args = new List<string>
        {
            "-t1",
            "-c" + scenario.ConnectionsFor(connections).ToString(CultureInfo.InvariantCulture),
            "-d" + durationSeconds.ToString(CultureInfo.InvariantCulture) + "s",
            "--latency",
        };
        if (scenario.NewConnectionPerRequest)
        {
            args.Add("-H");
            args.Add("Connection: close");
        }

        if (host is not null)
        {
            args.Add("-H");
            args.Add("Host: " + host);
        }

        args.Add($"{scheme}://127.0.0.1:{port}{scenario.Path}");

        var wrk = ChildProcess.StartPinned("wrk", Core, Path, args, keepStdout: true);
        try
        {
            // wrk stops itself after -d; the margin covers connection teardown and its report.
            var exit = await wrk.WaitForExitAsync(TimeSpan.FromSeconds(durationSeconds + 15), cancellationToken);
            if (exit is null)
            {
                throw new ScenarioException($"wrk against :{port}{scenario.Path} did not finish within {durationSeconds + 15} s");
            }

            if (exit != 0)
            {
                throw new ScenarioException($"wrk exited with {exit}: {wrk.Tail()}");
            }

            return Parse(wrk.StandardOutput)
                ?? throw new ScenarioException($"could not parse wrk output:{Environment.NewLine}{wrk.StandardOutput}");
        }
        finally
        {
            wrk.Kill();
        }
    }

    /// <summary>Parses wrk 4.x output; null if the summary lines are missing.</summary>
    public static WrkResult? Parse(string output)
    {
        var rps = RequestsPerSecondLine().Match(output);
        var total = TotalLine().Match(output);
        if (!rps.Success || !total.Success)
        {
            return null;
        }

        double? p50 = null, p99 = null;
        foreach (Match m in PercentileLine().Matches(output))
        {
            var ms = ToMilliseconds(m.Groups["value"].Value, m.Groups["unit"].Value);
            switch (m.Groups["pct"].Value)
            {
                case "50":
                    p50 = ms;
                    break;
                case "99":
                    p99 = ms;
                    break;
            }
        }

        long connect = 0, read = 0, write = 0, timeout = 0, non2xx = 0;
        var socket = SocketErrorsLine().Match(output);
        if (socket.Success)
        {
            connect = long.Parse(socket.Groups["connect"].Value, CultureInfo.InvariantCulture);
            read = long.Parse(socket.Groups["read"].Value, CultureInfo.InvariantCulture);
            write = long.Parse(socket.Groups["write"].Value, CultureInfo.InvariantCulture);
            timeout = long.Parse(socket.Groups["timeout"].Value, CultureInfo.InvariantCulture);
        }

        var status = Non2xxLine().Match(output);
        if (status.Success)
        {
            non2xx = long.Parse(status.Groups["count"].Value, CultureInfo.InvariantCulture);
        }

        return new WrkResult(
            double.Parse(rps.Groups["value"].Value, CultureInfo.InvariantCulture),
            long.Parse(total.Groups["count"].Value, CultureInfo.InvariantCulture),
            p50,
            p99,
            connect,
            read,
            write,
            timeout,
            non2xx);
    }

    // wrk's format_time (src/units.c) scales through us, ms, s, m, h.
    private static double ToMilliseconds(string value, string unit)
    {
        var number = double.Parse(value, CultureInfo.InvariantCulture);
        return unit switch
        {
            "us" => number / 1000,
            "ms" => number,
            "s" => number * 1000,
            "m" => number * 60_000,
            "h" => number * 3_600_000,
            _ => throw new FormatException($"unknown wrk time unit '{unit}'"),
        };
    }

    [GeneratedRegex(@"^Requests/sec:\s+(?<value>[0-9.]+)", RegexOptions.Multiline)]
    private static partial Regex RequestsPerSecondLine();

    [GeneratedRegex(@"^\s*(?<count>[0-9]+) requests in ", RegexOptions.Multiline)]
    private static partial Regex TotalLine();

    [GeneratedRegex(@"^\s+(?<pct>50|75|90|99)%\s+(?<value>[0-9.]+)(?<unit>us|ms|s|m|h)\s*$", RegexOptions.Multiline)]
    private static partial Regex PercentileLine();

    [GeneratedRegex(@"Socket errors: connect (?<connect>[0-9]+), read (?<read>[0-9]+), write (?<write>[0-9]+), timeout (?<timeout>[0-9]+)")]
    private static partial Regex SocketErrorsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (?<count>[0-9]+)")]
    private static partial Regex Non2xxLine();
}
