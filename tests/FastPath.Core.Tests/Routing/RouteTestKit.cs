// Builds routes and requests for routing tests without a cluster (matching never touches one).
using System.Text;
using FastPath.Config;
using FastPath.Http;
using FastPath.Routing;

namespace FastPath.Core.Tests.Routing;

internal static class RouteTestKit
{
    public static Route Route(string name, RouteMatchConfig match) => new(name, RouteCompiler.CompileMatch(match), 0);

    public static Route Prefix(string name, string prefix) => Route(name, new RouteMatchConfig { Prefix = prefix });

    public static Route Exact(string name, string path) => Route(name, new RouteMatchConfig { Prefix = null, Path = path });

    public static Route Regex(string name, string regex) => Route(name, new RouteMatchConfig { Prefix = null, Regex = regex });

    public static HttpHeaderBlock Headers(params (string Name, string Value)[] fields)
    {
        var block = new HttpHeaderBlock();
        foreach ((string n, string v) in fields) block.Add(Encoding.ASCII.GetBytes(n), Encoding.ASCII.GetBytes(v), KnownHeader.None);
        return block;
    }

    /// <summary>The name of the first route matching; null when none does.</summary>
    public static string? Match(VirtualHost host, string target, string method = "GET", HttpHeaderBlock? headers = null)
    {
        var input = new RouteInput(Encoding.ASCII.GetBytes(target), Encoding.ASCII.GetBytes(method), headers ?? new HttpHeaderBlock());
        return host.Match(in input)?.Name;
    }

    /// <summary>What a linear scan in config order finds: the reference the index must agree with.</summary>
    public static string? MatchLinear(Route[] routes, string target, string method = "GET", HttpHeaderBlock? headers = null)
    {
        var input = new RouteInput(Encoding.ASCII.GetBytes(target), Encoding.ASCII.GetBytes(method), headers ?? new HttpHeaderBlock());
        foreach (Route r in routes)
            if (r.Match.Matches(in input)) return r.Name;
        return null;
    }
}
