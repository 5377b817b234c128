// Just enough of the Prometheus text exposition format to read one counter from the gateway's admin port.

using System.Globalization;

namespace FastPath.Scenarios.Runner;

internal static class PrometheusText
{
    /// <summary>Sum of every sample of METRIC (all label sets); null when the metric is absent.</summary>
    public static double? Sum(string text, string metric)
    {
        double? total = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#' || !line.StartsWith(metric, StringComparison.Ordinal))
            {
                continue;
            }

            // The name must end exactly here: `metric_created` or `metricfoo` are different series.
            var rest = line.AsSpan(metric.Length);
            if (rest.Length == 0 || (rest[0] != '{' && rest[0] != ' ' && rest[0] != '\t'))
            {
                continue;
            }

            if (rest[0] == '{')
            {
                var close = rest.LastIndexOf('}');
                if (close < 0)
                {
                    continue;
                }

                rest = rest[(close + 1)..];
            }

            // "value [timestamp]"
            rest = rest.Trim();
            var space = rest.IndexOfAny(' ', '\t');
            var value = space < 0 ? rest : rest[..space];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var sample))
            {
                total = (total ?? 0) + sample;
            }
        }

        return total;
    }
}
