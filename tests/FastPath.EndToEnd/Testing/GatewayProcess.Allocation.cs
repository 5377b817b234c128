// The gateway's own allocation counter, for the end-to-end zero-allocation checks.
using System.Globalization;
using System.Text.RegularExpressions;

namespace FastPath.EndToEnd.Testing;

public sealed partial class GatewayProcess
{
    /// <summary>fastpath_gc_allocated_bytes_total from /stats/prometheus (a scrape itself allocates ~140 KB).</summary>
    public async Task<double> AllocatedBytesAsync()
    {
        (_, string text) = await AdminGetAsync("/stats/prometheus");
        Match m = Regex.Match(text, @"^fastpath_gc_allocated_bytes_total (\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, "no fastpath_gc_allocated_bytes_total in /stats/prometheus");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
