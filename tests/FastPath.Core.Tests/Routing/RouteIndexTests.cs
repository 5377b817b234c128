// Route matching within a virtual host (RouteIndex over RouteMatch): every match kind, and first match in config
// order whatever the trie index does to find candidates.
using FastPath.Config;
using FastPath.Http;
using FastPath.Routing;
using static FastPath.Core.Tests.Routing.RouteTestKit;

namespace FastPath.Core.Tests.Routing;

public class RouteIndexTests
{
    [Theory]
    [InlineData("/api/v1/items", "v1")]
    [InlineData("/api/v2/items", "api")]
    [InlineData("/api", "root")]
    [InlineData("/static/app.js", "root")]
    [InlineData("/", "root")]
    [InlineData("/api/v1/items?x=/other", "v1")]
    public void Match_Prefixes_FirstMatchingInConfigOrder(string path, string expected)
    {
        var host = new VirtualHost("h", [Prefix("v1", "/api/v1/"), Prefix("api", "/api/"), Prefix("root", "/"), Prefix("static", "/static/")]);

        Assert.Equal(expected, Match(host, path));
    }

    [Theory]
    [InlineData("/products/catalog/x", "catalog")]
    [InlineData("/products/cart", "cart")]
    [InlineData("/products/ca", null)]          // ends inside a shared edge
    [InlineData("/products/cxtalog/", null)]    // diverges inside an edge
    [InlineData("/products/catalog", "catalog-exact")]
    public void Match_LongSharedLiterals_EdgesCompared(string path, string? expected)
    {
        var host = new VirtualHost("h", [Prefix("catalog", "/products/catalog/"), Prefix("cart", "/products/cart"), Exact("catalog-exact", "/products/catalog")]);

        Assert.Equal(expected, Match(host, path));
    }

    [Fact]
    public void Match_BroadPrefixFirst_ShadowsLaterOnes()
    {
        var host = new VirtualHost("h", [Prefix("root", "/"), Prefix("api", "/api/")]);

        Assert.Equal("root", Match(host, "/api/x"));
    }

    [Fact]
    public void Match_NoRouteMatches_Null()
    {
        var host = new VirtualHost("h", [Prefix("api", "/api/")]);

        Assert.Null(Match(host, "/other"));
        Assert.Null(Match(host, "/API/x")); // case-sensitive by default
        Assert.Null(Match(host, "/ap"));
    }

    [Fact]
    public void Match_PrefixWithoutSlash_MatchesPartialSegment()
    {
        var host = new VirtualHost("h", [Prefix("ap", "/ap")]);

        Assert.Equal("ap", Match(host, "/apple"));
        Assert.Equal("ap", Match(host, "/ap"));
    }

    [Theory]
    [InlineData("/login", "exact")]
    [InlineData("/login/", "prefix")]
    [InlineData("/login?next=/", "exact")]   // the query is not part of the path
    [InlineData("/logins", "prefix")]
    [InlineData("/log", null)]
    public void Match_ExactPath_WholePathOnly(string path, string? expected)
    {
        var host = new VirtualHost("h", [Exact("exact", "/login"), Prefix("prefix", "/login")]);

        Assert.Equal(expected, Match(host, path));
    }

    [Theory]
    [InlineData("/users/42", "regex")]
    [InlineData("/users/42/orders", null)]   // a full match: trailing text fails
    [InlineData("/x/users/42", null)]        // and leading text
    [InlineData("/users/abc", null)]
    public void Match_Regex_FullPathOnly(string path, string? expected)
    {
        var host = new VirtualHost("h", [Regex("regex", "/users/[0-9]+")]);

        Assert.Equal(expected, Match(host, path));
    }

    [Fact]
    public void Match_RegexAlternation_WholeAlternationAnchored()
    {
        // Anchoring wraps the pattern in a group: "^a|b$" semantics must not leak ("/a/extra" must not match).
        var host = new VirtualHost("h", [Regex("alt", "/a|/b")]);

        Assert.Equal("alt", Match(host, "/a"));
        Assert.Equal("alt", Match(host, "/b"));
        Assert.Null(Match(host, "/a/extra"));
        Assert.Null(Match(host, "/x/b"));
    }

    [Theory]
    [InlineData("/API/Items", "prefix")]
    [InlineData("/Docs", "exact")]
    [InlineData("/FILES/A.TXT", "regex")]
    public void Match_CaseInsensitive_EveryPathKind(string path, string expected)
    {
        var host = new VirtualHost("h",
        [
            Route("prefix", new RouteMatchConfig { Prefix = "/api/", CaseSensitive = false }),
            Route("exact", new RouteMatchConfig { Prefix = null, Path = "/docs", CaseSensitive = false }),
            Route("regex", new RouteMatchConfig { Prefix = null, Regex = "/files/[a-z]+\\.txt", CaseSensitive = false }),
        ]);

        Assert.Equal(expected, Match(host, path));
    }

    [Theory]
    [InlineData("GET", "read")]
    [InlineData("HEAD", "read")]
    [InlineData("POST", "write")]
    [InlineData("get", null)]      // methods are case-sensitive
    [InlineData("PURGE", "custom")]
    [InlineData("DELETE", null)]
    public void Match_Methods_AnyListed(string method, string? expected)
    {
        var host = new VirtualHost("h",
        [
            Route("read", new RouteMatchConfig { Methods = ["GET", "HEAD"] }),
            Route("write", new RouteMatchConfig { Methods = ["POST", "PUT"] }),
            Route("custom", new RouteMatchConfig { Methods = ["PURGE"] }),
        ]);

        Assert.Equal(expected, Match(host, "/x", method));
    }

    public static TheoryData<HeaderMatchConfig, (string, string)[], bool> HeaderCases => new()
    {
        { new HeaderMatchConfig { Name = "x-env", Exact = "canary" }, [("X-Env", "canary")], true },
        { new HeaderMatchConfig { Name = "x-env", Exact = "canary" }, [("x-env", "Canary")], false },   // values case-sensitive
        { new HeaderMatchConfig { Name = "x-env", Exact = "canary" }, [], false },
        { new HeaderMatchConfig { Name = "x-env", Exact = "canary" }, [("x-env", "prod"), ("x-env", "canary")], true }, // any field
        { new HeaderMatchConfig { Name = "user-agent", Prefix = "curl/" }, [("User-Agent", "curl/8.5")], true },
        { new HeaderMatchConfig { Name = "user-agent", Prefix = "curl/" }, [("User-Agent", "Mozilla curl/8.5")], false },
        { new HeaderMatchConfig { Name = "host-ish", Suffix = ".internal" }, [("host-ish", "db.internal")], true },
        { new HeaderMatchConfig { Name = "host-ish", Suffix = ".internal" }, [("host-ish", "db.internal.com")], false },
        { new HeaderMatchConfig { Name = "x-user", Regex = "u-[0-9]{3}" }, [("x-user", "u-123")], true },
        { new HeaderMatchConfig { Name = "x-user", Regex = "u-[0-9]{3}" }, [("x-user", "u-1234")], false },  // full match
        { new HeaderMatchConfig { Name = "x-debug", Present = true }, [("X-Debug", "")], true },
        { new HeaderMatchConfig { Name = "x-debug", Present = true }, [], false },
        { new HeaderMatchConfig { Name = "x-debug", Absent = true }, [], true },
        { new HeaderMatchConfig { Name = "x-debug", Absent = true }, [("x-debug", "1")], false },
        { new HeaderMatchConfig { Name = "x-env", Exact = "canary", Invert = true }, [("x-env", "prod")], true },
        { new HeaderMatchConfig { Name = "x-env", Exact = "canary", Invert = true }, [("x-env", "canary")], false },
        { new HeaderMatchConfig { Name = "x-env", Exact = "canary", Invert = true }, [], true },          // Envoy: missing + invert holds
        { new HeaderMatchConfig { Name = "x-debug", Present = true, Invert = true }, [], true },
        { new HeaderMatchConfig { Name = "x-debug", Present = true, Invert = true }, [("x-debug", "1")], false },
    };

    [Theory]
    [MemberData(nameof(HeaderCases))]
    public void Match_Header_EachKindAndInvert(HeaderMatchConfig header, (string, string)[] fields, bool matches)
    {
        var host = new VirtualHost("h", [Route("h", new RouteMatchConfig { Headers = [header] })]);

        Assert.Equal(matches ? "h" : null, Match(host, "/", headers: Headers(fields)));
    }

    [Fact]
    public void Match_SeveralHeaders_AllMustHold()
    {
        var host = new VirtualHost("h",
        [
            Route("both", new RouteMatchConfig { Headers = [new() { Name = "a", Exact = "1" }, new() { Name = "b", Exact = "2" }] }),
            Prefix("fallback", "/"),
        ]);

        Assert.Equal("both", Match(host, "/", headers: Headers(("a", "1"), ("b", "2"))));
        Assert.Equal("fallback", Match(host, "/", headers: Headers(("a", "1"))));
    }

    [Theory]
    [InlineData("/s?version=v2", true)]
    [InlineData("/s?a=1&version=v2&b", true)]
    [InlineData("/s?version=v21", false)]
    [InlineData("/s?Version=v2", false)]        // names are case-sensitive
    [InlineData("/s?version=v1&version=v2", false)] // the first occurrence counts
    [InlineData("/s", false)]
    public void Match_QueryParamExact(string target, bool matches)
    {
        var host = new VirtualHost("h", [Route("q", new RouteMatchConfig { QueryParams = [new() { Name = "version", Exact = "v2" }] })]);

        Assert.Equal(matches ? "q" : null, Match(host, target));
    }

    [Theory]
    [InlineData("prefix", "/s?lang=en-GB", true)]
    [InlineData("prefix", "/s?lang=de", false)]
    [InlineData("regex", "/s?id=12", true)]
    [InlineData("regex", "/s?id=12a", false)]
    [InlineData("present", "/s?debug", true)]
    [InlineData("present", "/s?debug=", true)]
    [InlineData("present", "/s?nodebug=1", false)]
    public void Match_QueryParamKinds(string kind, string target, bool matches)
    {
        QueryParamMatchConfig q = kind switch
        {
            "prefix" => new() { Name = "lang", Prefix = "en" },
            "regex" => new() { Name = "id", Regex = "[0-9]+" },
            _ => new() { Name = "debug", Present = true },
        };
        var host = new VirtualHost("h", [Route("q", new RouteMatchConfig { QueryParams = [q] })]);

        Assert.Equal(matches ? "q" : null, Match(host, target));
    }

    [Fact]
    public void Match_IndexedAndUnindexedRoutes_ConfigOrderKept()
    {
        // A regex (not in the trie) listed between two prefixes must still be tried between them.
        var host = new VirtualHost("h",
        [
            Route("api-post", new RouteMatchConfig { Prefix = "/api/", Methods = ["POST"] }),
            Regex("regex", "/api/[a-z]+"),
            Prefix("api", "/api/"),
            Route("ci", new RouteMatchConfig { Prefix = "/API/", CaseSensitive = false }),
        ]);

        Assert.Equal("api-post", Match(host, "/api/items", "POST"));
        Assert.Equal("regex", Match(host, "/api/items"));
        Assert.Equal("api", Match(host, "/api/42"));
        Assert.Equal("ci", Match(host, "/Api/42"));
    }

    [Theory]
    [InlineData("/users/[0-9]+", "/users/")]
    [InlineData("^/users/[0-9]+", "/users/")]
    [InlineData("/files/a*", "/files/")]        // a quantified last literal is not required
    [InlineData("/files/ab?", "/files/a")]
    [InlineData("/files/a{0,2}", "/files/")]
    [InlineData("/files/a+", "/files/a")]       // one or more: still required
    [InlineData("/static/app\\.js", "/static/app")]
    [InlineData("/plain/path", "/plain/path")]
    [InlineData("/a|/b", null)]                  // alternation: no single head
    [InlineData("(/a)/b", null)]
    [InlineData("[/]x", null)]
    [InlineData(".*", null)]
    public void LiteralPrefix_RegexHead(string pattern, string? expected)
    {
        Assert.Equal(expected, RouteRegex.LiteralPrefix(pattern));
    }

    [Fact]
    public void Match_RegexWithLiteralHead_IndexedYetOrderKept()
    {
        var host = new VirtualHost("h", [Regex("re", "/users/[0-9]+"), Prefix("users", "/users/"), Regex("late", "/users/x+")]);

        Assert.NotNull(host.Routes[0].Match.IndexKey);
        Assert.Equal("re", Match(host, "/users/12"));
        Assert.Equal("users", Match(host, "/users/xx"));
        Assert.Null(Match(host, "/other/12"));
    }

    [Fact]
    public void Match_RandomRouteSets_IndexAgreesWithLinearScan()
    {
        // Seeded: a failure reproduces. Routes over a small alphabet so prefixes nest, exact paths collide with
        // prefixes, and every kind of route is interleaved in config order.
        var random = new Random(20261127);
        string[] segments = ["a", "b", "ab", "api", "v1", "x"];
        string RandomPath()
        {
            int n = random.Next(0, 4);
            var parts = new List<string>();
            for (int i = 0; i < n; i++) parts.Add(segments[random.Next(segments.Length)]);
            string p = "/" + string.Join("/", parts);
            return random.Next(4) == 0 ? p + "/" : p;
        }

        for (int round = 0; round < 50; round++)
        {
            var routes = new Route[random.Next(1, 40)];
            for (int i = 0; i < routes.Length; i++)
            {
                string name = $"r{i}";
                routes[i] = random.Next(7) switch
                {
                    0 or 1 => Prefix(name, RandomPath()),
                    2 => Exact(name, RandomPath()),
                    3 => Regex(name, RandomPath().Replace("a", "[a-b]", StringComparison.Ordinal) + (random.Next(2) == 0 ? ".*" : "b?")),
                    4 => Route(name, new RouteMatchConfig { Prefix = RandomPath().ToUpperInvariant(), CaseSensitive = false }),
                    5 => Route(name, new RouteMatchConfig { Prefix = RandomPath(), Headers = [new() { Name = "x-h", Exact = "1" }] }),
                    _ => Route(name, new RouteMatchConfig { Prefix = null, Path = RandomPath(), Methods = ["POST"] }),
                };
            }
            var host = new VirtualHost("h", routes);
            for (int k = 0; k < 200; k++)
            {
                string path = RandomPath() + (random.Next(3) == 0 ? "?q=1" : "");
                string method = random.Next(2) == 0 ? "GET" : "POST";
                HttpHeaderBlock headers = random.Next(2) == 0 ? Headers(("x-h", "1")) : Headers();
                Assert.Equal(MatchLinear(routes, path, method, headers), Match(host, path, method, headers));
            }
        }
    }

    [Fact]
    public void Match_ManyRoutesAfterWarmUp_AllocatesNothing()
    {
        var routes = new List<Route>();
        for (int i = 0; i < 300; i++) routes.Add(Prefix($"p{i}", $"/svc{i}/"));
        routes.Add(Regex("regex", "/users/[0-9]+/orders"));
        routes.Add(Route("hdr", new RouteMatchConfig { Prefix = "/h/", Headers = [new() { Name = "x-user", Regex = "u-[0-9]+" }] }));
        routes.Add(Route("qp", new RouteMatchConfig { Prefix = "/q/", QueryParams = [new() { Name = "v", Regex = "[0-9]+" }] }));
        var host = new VirtualHost("h", [.. routes]);
        HttpHeaderBlock headers = Headers(("x-user", "u-42"));
        byte[][] targets = [.. new[] { "/svc150/x", "/users/7/orders", "/h/a", "/q/a?v=12", "/none" }.Select(System.Text.Encoding.ASCII.GetBytes)];
        byte[] get = "GET"u8.ToArray();

        int found = 0;
        for (int i = 0; i < 200; i++) found += MatchAll(host, targets, get, headers);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) found += MatchAll(host, targets, get, headers);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(4 * 1200, found);
    }

    private static int MatchAll(VirtualHost host, byte[][] targets, byte[] method, HttpHeaderBlock headers)
    {
        int found = 0;
        foreach (byte[] t in targets)
        {
            var input = new RouteInput(t, method, headers);
            if (host.Match(in input) is not null) found++;
        }
        return found;
    }
}
