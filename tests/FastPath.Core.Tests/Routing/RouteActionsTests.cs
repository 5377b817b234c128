// What a matched route does to the bytes: the rewritten path (Istio uri / uriRegexRewrite), the redirect Location
// (Envoy RedirectAction), and the weighted pick keyed by the request id.
using System.Text;
using FastPath.Config;
using FastPath.LoadBalancing;
using FastPath.Routing;
using static FastPath.Core.Tests.Routing.RouteTestKit;

namespace FastPath.Core.Tests.Routing;

public class RouteActionsTests
{
    private static Route WithRewrite(RouteMatchConfig match, RewriteConfig rewrite) =>
        RouteCompiler.Compile(new RouteConfig { Match = match, Rewrite = rewrite }, new Dictionary<string, FastPath.Upstream.Clusters.Cluster>());

    private static string? Rewritten(Route route, string target)
    {
        byte[] buffer = [];
        int n = RouteActions.WriteRewrittenPath(route, Encoding.ASCII.GetBytes(target), ref buffer);
        return n == 0 ? null : Encoding.ASCII.GetString(buffer, 0, n);
    }

    [Theory]
    [InlineData("/api/v1/users?id=7", "/users?id=7")]
    [InlineData("/api/v1/", "/")]
    public void WriteRewrittenPath_PrefixMatch_ReplacesMatchedPrefixKeepsQuery(string target, string expected)
    {
        Route route = WithRewrite(new RouteMatchConfig { Prefix = "/api/v1/" }, new RewriteConfig { Prefix = "/" });

        Assert.Equal(expected, Rewritten(route, target));
    }

    [Fact]
    public void WriteRewrittenPath_ExactMatch_ReplacesWholePath()
    {
        Route route = WithRewrite(new RouteMatchConfig { Prefix = null, Path = "/old" }, new RewriteConfig { Prefix = "/new/place" });

        Assert.Equal("/new/place?a=b", Rewritten(route, "/old?a=b"));
    }

    [Theory]
    [InlineData("\\2/instance/\\1")]   // Envoy / Istio (RE2) capture syntax
    [InlineData("$2/instance/$1")]     // .NET syntax
    public void WriteRewrittenPath_Regex_SubstitutesCaptureGroups(string substitution)
    {
        Route route = WithRewrite(new RouteMatchConfig { Prefix = "/service/" },
            new RewriteConfig { Regex = new RegexRewriteConfig { Pattern = "^/service/([^/]+)(/.*)$", Substitution = substitution } });

        Assert.Equal("/foo/instance/bar?x=1", Rewritten(route, "/service/bar/foo?x=1"));
    }

    [Fact]
    public void WriteRewrittenPath_RegexEveryOccurrence_Replaced()
    {
        Route route = WithRewrite(new RouteMatchConfig(), new RewriteConfig { Regex = new RegexRewriteConfig { Pattern = "//+", Substitution = "/" } });

        Assert.Equal("/a/b/c", Rewritten(route, "//a///b//c"));
    }

    [Fact]
    public void WriteRewrittenPath_RegexLeavesNothing_Slash()
    {
        Route route = WithRewrite(new RouteMatchConfig(), new RewriteConfig { Regex = new RegexRewriteConfig { Pattern = "^/drop.*$", Substitution = "" } });

        Assert.Equal("/?a=1", Rewritten(route, "/drop/me?a=1"));
    }

    [Fact]
    public void WriteRewrittenPath_HostOnly_PathUntouched()
    {
        Route route = WithRewrite(new RouteMatchConfig(), new RewriteConfig { Host = "internal.svc" });

        Assert.Null(Rewritten(route, "/x"));
        Assert.Equal("internal.svc", Encoding.ASCII.GetString(route.Rewrite!.Host!));
    }

    [Fact]
    public void WriteRewrittenPath_LongPath_BufferGrows()
    {
        Route route = WithRewrite(new RouteMatchConfig { Prefix = "/a/" }, new RewriteConfig { Prefix = "/bbbbbbbb/" });
        string tail = new('x', 5000);
        byte[] buffer = new byte[16];

        int n = RouteActions.WriteRewrittenPath(route, Encoding.ASCII.GetBytes("/a/" + tail), ref buffer);

        Assert.Equal("/bbbbbbbb/" + tail, Encoding.ASCII.GetString(buffer, 0, n));
    }

    private static string Location(RedirectConfig redirect, string target, string authority, RouteMatchConfig? match = null)
    {
        Route route = RouteCompiler.Compile(new RouteConfig { Match = match ?? new RouteMatchConfig(), Redirect = redirect },
            new Dictionary<string, FastPath.Upstream.Clusters.Cluster>());
        byte[] buffer = [];
        int n = RouteActions.WriteLocationField(route, Encoding.ASCII.GetBytes(target), Encoding.ASCII.GetBytes(authority), ref buffer);
        string line = Encoding.ASCII.GetString(buffer, 0, n);
        Assert.StartsWith("location: ", line, StringComparison.Ordinal);
        Assert.EndsWith("\r\n", line, StringComparison.Ordinal);
        return line["location: ".Length..^2];
    }

    [Theory]
    [InlineData("/a?q=1", "example.com", "https://example.com/a?q=1")]
    [InlineData("/a", "example.com:8080", "https://example.com/a")]           // the old port belongs to the old scheme
    public void WriteLocationField_SchemeOnly_KeepsHostPathQuery(string target, string authority, string expected)
    {
        Assert.Equal(expected, Location(new RedirectConfig { Scheme = "https" }, target, authority));
    }

    [Fact]
    public void WriteLocationField_NothingChanged_KeepsRequestPort()
    {
        Assert.Equal("http://example.com:8080/x", Location(new RedirectConfig { ResponseCode = 302 }, "/x", "example.com:8080"));
    }

    [Theory]
    [InlineData(8443, "https://new.example:8443/p")]
    [InlineData(443, "https://new.example/p")]                               // default port for https: omitted
    public void WriteLocationField_HostAndPort(int port, string expected)
    {
        Assert.Equal(expected, Location(new RedirectConfig { Scheme = "https", Host = "new.example", Port = port }, "/p", "old.example:80"));
    }

    [Fact]
    public void WriteLocationField_PathAndStripQuery()
    {
        Assert.Equal("http://h/login", Location(new RedirectConfig { Path = "/login", StripQuery = true }, "/account?next=/x", "h"));
    }

    [Fact]
    public void WriteLocationField_PrefixRewrite_ReplacesMatchedPrefix()
    {
        Assert.Equal("http://h/v2/items?a=1",
            Location(new RedirectConfig { PrefixRewrite = "/v2/" }, "/v1/items?a=1", "h", new RouteMatchConfig { Prefix = "/v1/" }));
    }

    [Fact]
    public void WriteLocationField_NoAuthority_RelativeLocation()
    {
        Assert.Equal("/new", Location(new RedirectConfig { Path = "/new" }, "/old", ""));
    }

    [Fact]
    public void WriteLocationField_Ipv6Authority_PortSplitOutsideBrackets()
    {
        Assert.Equal("https://[::1]/x", Location(new RedirectConfig { Scheme = "https" }, "/x", "[::1]:8080"));
    }

    private static Route Weighted(params int[] weights) =>
        new Route("w", RouteCompiler.CompileMatch(new RouteMatchConfig()), 0)
        {
            WeightedClusters = [.. weights.Select(w => new WeightedCluster(null!, w))],
        };

    [Fact]
    public void PickWeighted_SameKey_SameDestination()
    {
        Route route = Weighted(70, 20, 10);
        for (ulong key = 0; key < 1000; key += 7)
            Assert.Same(route.PickWeighted(key), route.PickWeighted(key));
    }

    [Fact]
    public void PickWeighted_KeysModTotal_CumulativeRanges()
    {
        Route route = Weighted(70, 20, 10);
        WeightedCluster[] w = route.WeightedClusters!;

        Assert.Same(w[0], route.PickWeighted(0));
        Assert.Same(w[0], route.PickWeighted(69));
        Assert.Same(w[1], route.PickWeighted(70));
        Assert.Same(w[1], route.PickWeighted(89));
        Assert.Same(w[2], route.PickWeighted(90));
        Assert.Same(w[2], route.PickWeighted(99));
        Assert.Same(w[0], route.PickWeighted(100));
    }

    [Fact]
    public void PickWeighted_ZeroWeightDestination_NeverPicked()
    {
        Route route = Weighted(0, 5, 0);
        for (ulong key = 0; key < 100; key++) Assert.Same(route.WeightedClusters![1], route.PickWeighted(key));
    }

    [Fact]
    public void PickWeighted_HashedRequestIds_SplitFollowsWeights()
    {
        Route route = Weighted(70, 20, 10);
        var random = new Random(42);
        var counts = new Dictionary<WeightedCluster, int>();
        const int N = 100_000;
        Span<byte> id = stackalloc byte[FastPath.Http.RequestIdGenerator.Length];
        for (int i = 0; i < N; i++)
        {
            for (int k = 0; k < id.Length; k++) id[k] = (byte)"0123456789abcdef"[random.Next(16)];
            WeightedCluster picked = route.PickWeighted(XxHash64.Hash(id))!;
            counts[picked] = counts.GetValueOrDefault(picked) + 1;
        }

        WeightedCluster[] w = route.WeightedClusters!;
        Assert.InRange(counts[w[0]] / (double)N, 0.69, 0.71);
        Assert.InRange(counts[w[1]] / (double)N, 0.19, 0.21);
        Assert.InRange(counts[w[2]] / (double)N, 0.09, 0.11);
    }
}
