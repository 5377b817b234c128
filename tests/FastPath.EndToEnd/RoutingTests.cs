// L7 routing through the real gateway: every match kind (path prefix/exact/regex, case-insensitive, methods,
// headers, query parameters), the actions (redirect, direct response, weighted split keyed by x-request-id),
// rewrites seen by the origin, no route (404 NR), and route config errors naming their field paths.
using System.Text.Json;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class RoutingFixture : IAsyncLifetime
{
    public OriginServer Origin { get; private set; } = null!;
    public OriginServer Backend { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;

    private static string Direct(string name, string match, string body) =>
        $"name: {name}\nmatch: {match}\ndirect_response: {{status: 200, body: \"{body}\"}}";

    public async Task InitializeAsync()
    {
        Origin = await OriginServer.StartAsync("a");
        Backend = await OriginServer.StartAsync("b");
        GatewayYaml yaml = new GatewayYaml()
            .RawRoute(Direct("exact", "{path: /exact}", "exact"))
            .RawRoute(Direct("regex", "{regex: \"/users/[0-9]+\"}", "regex"))
            .RawRoute(Direct("ci", "{prefix: /CI/, case_sensitive: false}", "ci"))
            .RawRoute(Direct("post-only", "{path: /m, methods: [POST, PUT]}", "post"))
            .RawRoute(Direct("hdr-exact", "{prefix: /h/, headers: [{name: x-env, exact: canary}]}", "hdr-exact"))
            .RawRoute(Direct("hdr-prefix", "{prefix: /h/, headers: [{name: x-ua, prefix: curl/}]}", "hdr-prefix"))
            .RawRoute(Direct("hdr-suffix", "{prefix: /h/, headers: [{name: x-host, suffix: .internal}]}", "hdr-suffix"))
            .RawRoute(Direct("hdr-regex", "{prefix: /h/, headers: [{name: x-user, regex: \"u-[0-9]+\"}]}", "hdr-regex"))
            .RawRoute(Direct("hdr-present", "{prefix: /h/, headers: [{name: x-debug, present: true}]}", "hdr-present"))
            .RawRoute(Direct("hdr-invert", "{prefix: /h/, headers: [{name: x-tier, exact: free, invert: true}, {name: x-tier, present: true}]}", "hdr-invert"))
            .RawRoute(Direct("hdr-absent", "{prefix: /h/, headers: [{name: x-tier, absent: true}]}", "hdr-absent"))
            .RawRoute(Direct("q-exact", "{prefix: /q/, query_params: [{name: v, exact: \"2\"}]}", "q-exact"))
            .RawRoute(Direct("q-prefix", "{prefix: /q/, query_params: [{name: lang, prefix: en}]}", "q-prefix"))
            .RawRoute(Direct("q-regex", "{prefix: /q/, query_params: [{name: id, regex: \"[0-9]+\"}]}", "q-regex"))
            .RawRoute(Direct("q-present", "{prefix: /q/, query_params: [{name: debug, present: true}]}", "q-present"))
            .RawRoute("name: moved\nprefix: /old/\nredirect: {prefix_rewrite: /new/, response_code: 308}")
            .RawRoute("name: secure\nmatch: {path: /login}\nredirect: {scheme: https, host: secure.example, strip_query: true}")
            .RawRoute("name: maintenance\nprefix: /down\ndirect_response: {status: 503, body: \"back soon\"}")
            .RawRoute("name: empty\nprefix: /nothing-here\ndirect_response: {status: 204}")
            .RawRoute("name: rw-prefix\nprefix: /api/v1/\ncluster: b\nrewrite: {prefix: /internal/}")
            .RawRoute("name: rw-regex\nprefix: /svc/\ncluster: b\nrewrite: {regex: {pattern: \"^/svc/([^/]+)/(.*)$\", substitution: \"/\\\\2/\\\\1\"}}")
            .RawRoute("name: rw-host\nprefix: /host/\ncluster: b\nrewrite: {host: \"backend.internal:8080\"}")
            .RawRoute("name: origin\nprefix: /a/\ncluster: a")
            .Cluster("a", Origin.Address)
            .Cluster("b", Backend.Address);
        Gateway = await GatewayProcess.StartAsync(yaml, accessLog: true, lifetime: TimeSpan.FromMinutes(5));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Backend.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

public sealed class RoutingTests(RoutingFixture fixture) : IClassFixture<RoutingFixture>
{
    private async Task<RawResponse> SendAsync(string request) => await RawHttpConnection.SendOnceAsync(fixture.Gateway.Port, request);

    private Task<RawResponse> GetAsync(string path, params string[] fields) => SendAsync(RawHttpConnection.Get(path, fields));

    private async Task AssertRouteAsync(string expected, RawResponse r)
    {
        Assert.True(r.Status == 200, r.ToString());
        Assert.Equal(expected, r.BodyText);
        await Task.CompletedTask;
    }

    [Theory(Timeout = 30_000)]
    [InlineData("/exact", "exact")]
    [InlineData("/exact?x=1", "exact")]
    [InlineData("/users/42", "regex")]
    [InlineData("/ci/a", "ci")]
    [InlineData("/Ci/B", "ci")]
    public async Task PathMatch_EachKind_RouteAnswers(string path, string route)
    {
        await AssertRouteAsync(route, await GetAsync(path));
    }

    [Theory(Timeout = 30_000)]
    [InlineData("/exact/more")]      // exact means the whole path
    [InlineData("/users/42/orders")] // a regex matches the whole path
    [InlineData("/users/x")]
    [InlineData("/m")]               // GET: the route takes POST and PUT only
    [InlineData("/q/plain")]         // no query route holds
    [InlineData("/q/plain?other=1")]
    [InlineData("/A/x")]             // case-sensitive prefix
    public async Task NoRouteHolds_404WithNoRouteBody(string path)
    {
        RawResponse r = await GetAsync(path);

        Assert.True(r.Status == 404, r.ToString());
        Assert.Equal("no route\n", r.BodyText);
    }

    [Fact(Timeout = 30_000)]
    public async Task MethodMatch_PostAndPut_RouteAnswers()
    {
        await AssertRouteAsync("post", await SendAsync("POST /m HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
        await AssertRouteAsync("post", await SendAsync("PUT /m HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
    }

    [Theory(Timeout = 30_000)]
    [InlineData("hdr-exact", "X-Env: canary")]
    [InlineData("hdr-prefix", "X-UA: curl/8.5.0")]
    [InlineData("hdr-suffix", "X-Host: db.internal")]
    [InlineData("hdr-regex", "X-User: u-1234")]
    [InlineData("hdr-present", "X-Debug: ")]
    [InlineData("hdr-invert", "X-Tier: gold")]
    [InlineData("hdr-absent", "X-Env: prod")]
    public async Task HeaderMatch_EachKind_RouteAnswers(string route, string field)
    {
        await AssertRouteAsync(route, await GetAsync("/h/x", field));
    }

    [Fact(Timeout = 30_000)]
    public async Task HeaderMatch_InvertedTestFailsAndTierPresent_NoRoute()
    {
        // x-tier: free fails the inverted test and x-tier is present, so hdr-absent does not hold either.
        Assert.Equal(404, (await GetAsync("/h/x", "X-Tier: free")).Status);
        Assert.Equal(404, (await GetAsync("/h/x", "X-Tier: free", "X-User: u-12x")).Status); // regex is a full match
        await AssertRouteAsync("hdr-absent", await GetAsync("/h/x", "X-User: u-12x"));
    }

    [Theory(Timeout = 30_000)]
    [InlineData("/q/x?v=2", "q-exact")]
    [InlineData("/q/x?a=b&lang=en-GB", "q-prefix")]
    [InlineData("/q/x?id=77", "q-regex")]
    [InlineData("/q/x?debug", "q-present")]
    [InlineData("/q/x?v=3&debug=1", "q-present")]
    public async Task QueryMatch_EachKind_RouteAnswers(string path, string route)
    {
        await AssertRouteAsync(route, await GetAsync(path));
    }

    [Fact(Timeout = 30_000)]
    public async Task Redirect_PrefixRewrite308_LocationKeepsHostAndQuery()
    {
        RawResponse r = await SendAsync("GET /old/page?a=1 HTTP/1.1\r\nHost: shop.example:8080\r\n\r\n");

        Assert.Equal(308, r.Status);
        Assert.Equal("Permanent Redirect", r.Reason);
        Assert.Equal("http://shop.example:8080/new/page?a=1", r.Header("location"));
        Assert.Equal(0, fixture.Origin.Requests.Count(q => q.PathAndQuery.StartsWith("/old/", StringComparison.Ordinal)));
    }

    [Fact(Timeout = 30_000)]
    public async Task Redirect_SchemeAndHost_Default301StripsQuery()
    {
        await using RawHttpConnection c = await RawHttpConnection.ConnectAsync(fixture.Gateway.Port);
        RawResponse r = await c.RoundTripAsync(RawHttpConnection.Get("/login?next=/cart"));

        Assert.Equal(301, r.Status);
        Assert.Equal("https://secure.example/login", r.Header("location"));
        Assert.Equal("0", r.Header("content-length"));
        // A local reply keeps the connection: the next request on it is served.
        await AssertRouteAsync("exact", await c.RoundTripAsync(RawHttpConnection.Get("/exact")));
    }

    [Fact(Timeout = 30_000)]
    public async Task DirectResponse_StatusAndBody()
    {
        RawResponse r = await GetAsync("/down/now");

        Assert.Equal(503, r.Status);
        Assert.Equal("back soon", r.BodyText);
        Assert.Equal("text/plain", r.Header("content-type"));

        RawResponse empty = await GetAsync("/nothing-here");
        Assert.Equal(204, empty.Status);
        Assert.Empty(empty.Body);
        Assert.Null(empty.Header("content-length")); // RFC 9110 section 8.6: never on a 204
    }

    [Fact(Timeout = 30_000)]
    public async Task DirectResponse_Head_HeadOnly()
    {
        await using RawHttpConnection c = await RawHttpConnection.ConnectAsync(fixture.Gateway.Port);
        RawResponse r = await c.RoundTripAsync("HEAD /down HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(503, r.Status);
        Assert.Equal("9", r.Header("content-length"));
        Assert.Empty(r.Body);
        await AssertRouteAsync("exact", await c.RoundTripAsync(RawHttpConnection.Get("/exact")));
    }

    [Fact(Timeout = 30_000)]
    public async Task Rewrite_Prefix_OriginSeesNewPathWithQuery()
    {
        string id = Guid.NewGuid().ToString("N");
        RawResponse r = await GetAsync($"/api/v1/items?t={id}");

        Assert.Equal(200, r.Status);
        Assert.Equal("b", r.Header("x-origin-id"));
        Assert.Contains(fixture.Backend.Requests, q => q.PathAndQuery == $"/internal/items?t={id}");
    }

    [Fact(Timeout = 30_000)]
    public async Task Rewrite_Regex_OriginSeesSubstitutedPath()
    {
        string id = Guid.NewGuid().ToString("N")[..8];
        RawResponse r = await GetAsync($"/svc/{id}/orders/7?x=1");

        Assert.Equal(200, r.Status);
        Assert.Contains(fixture.Backend.Requests, q => q.PathAndQuery == $"/orders/7/{id}?x=1");
    }

    [Fact(Timeout = 30_000)]
    public async Task Rewrite_Host_OriginSeesNewHostPathUnchanged()
    {
        string path = $"/host/{Guid.NewGuid():N}";
        RawResponse r = await GetAsync(path);

        Assert.Equal(200, r.Status);
        OriginRequest seen = Assert.Single(fixture.Backend.Requests, q => q.PathAndQuery == path);
        Assert.Equal("backend.internal:8080", seen.Header("host"));
    }

    [Fact(Timeout = 30_000)]
    public async Task NoRoute_AccessLogHasNrFlagAndVirtualHost_MatchedRouteNamed()
    {
        string missing = $"/missing/{Guid.NewGuid():N}";
        string hit = $"/a/{Guid.NewGuid():N}";
        Assert.Equal(404, (await GetAsync(missing)).Status);
        Assert.Equal(200, (await GetAsync(hit)).Status);

        JsonElement nr = await fixture.Gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == missing);
        Assert.Equal("NR", nr.GetProperty("response_flags").GetString());
        Assert.Equal("all", nr.GetProperty("virtual_host").GetString());
        Assert.Equal(JsonValueKind.Null, nr.GetProperty("route").ValueKind);
        Assert.Equal(36, nr.GetProperty("request_id").GetString()!.Length);

        JsonElement ok = await fixture.Gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == hit);
        Assert.Equal("origin", ok.GetProperty("route").GetString());
        Assert.Equal("a", ok.GetProperty("upstream_cluster").GetString());
    }

    [Fact(Timeout = 30_000)]
    public async Task LocalReply_AccessLogStatusRouteNoFlag()
    {
        string path = $"/down/{Guid.NewGuid():N}";
        Assert.Equal(503, (await GetAsync(path)).Status);

        JsonElement line = await fixture.Gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == path);
        Assert.Equal(503, line.GetProperty("status").GetInt32());
        Assert.Equal("maintenance", line.GetProperty("route").GetString());
        Assert.Equal("-", line.GetProperty("response_flags").GetString());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("upstream_cluster").ValueKind);
        Assert.Equal("back soon".Length, line.GetProperty("bytes_sent").GetInt64());   // the body the proxy wrote
    }
}

public sealed class WeightedRoutingTests
{
    private static string Served(RawResponse r) => r.Header("x-origin-id") ?? throw new InvalidOperationException(r.ToString());

    [Fact(Timeout = 120_000)]
    public async Task WeightedClusters_70_20_10_SplitWithinTwoPercentOver10000Requests()
    {
        await using OriginServer v1 = await OriginServer.StartAsync("v1");
        await using OriginServer v2 = await OriginServer.StartAsync("v2");
        await using OriginServer v3 = await OriginServer.StartAsync("v3");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .RawRoute("prefix: /\nweighted_clusters:\n  - {cluster: v1, weight: 70}\n  - {cluster: v2, weight: 20}\n  - {cluster: v3, weight: 10}")
            .Cluster("v1", v1.Address).Cluster("v2", v2.Address).Cluster("v3", v3.Address));

        const int Connections = 8, PerConnection = 1250;
        var counts = new int[3];
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(async c =>
        {
            await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
            for (int i = 0; i < PerConnection; i++)
            {
                RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/w/{c}/{i}"));
                Assert.Equal(200, r.Status);
                Interlocked.Increment(ref counts[Served(r) switch { "v1" => 0, "v2" => 1, _ => 2 }]);
            }
        }));

        const int Total = Connections * PerConnection;
        Assert.Equal(Total, counts.Sum());
        Assert.InRange(counts[0], Total * 68 / 100, Total * 72 / 100);
        Assert.InRange(counts[1], Total * 18 / 100, Total * 22 / 100);
        Assert.InRange(counts[2], Total * 8 / 100, Total * 12 / 100);
        Assert.Equal(Total, v1.RequestCount + v2.RequestCount + v3.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task WeightedClusters_SameRequestId_SameCluster()
    {
        await using OriginServer v1 = await OriginServer.StartAsync("v1");
        await using OriginServer v2 = await OriginServer.StartAsync("v2");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .RawRoute("prefix: /\nweighted_clusters: [{cluster: v1, weight: 50}, {cluster: v2, weight: 50}]")
            .Cluster("v1", v1.Address).Cluster("v2", v2.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        var servedBy = new Dictionary<string, HashSet<string>>();
        for (int id = 0; id < 40; id++)
        {
            string requestId = $"req-{id}-{id * 7919}";
            for (int i = 0; i < 5; i++)
            {
                RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/r/{i}", $"X-Request-Id: {requestId}"));
                Assert.Equal(200, r.Status);
                if (!servedBy.TryGetValue(requestId, out HashSet<string>? set)) servedBy[requestId] = set = [];
                set.Add(Served(r));
            }
        }

        Assert.All(servedBy.Values, set => Assert.Single(set));
        Assert.Equal(2, servedBy.Values.Select(s => s.Single()).Distinct().Count()); // 40 ids do not all land on one side
        // The origin sees the same id the pick used.
        Assert.All(v1.Requests.Concat(v2.Requests), q => Assert.StartsWith("req-", q.Header("x-request-id"), StringComparison.Ordinal));
    }
}

public sealed class RoutingConfigErrorTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastpath-e2e", Guid.NewGuid().ToString("N")[..12]);

    public RoutingConfigErrorTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    // Line numbers matter: the assertions below point at them.
    private const string BadRoutes =
        "admin:\n" +                                                        // 1
        "  port: 0\n" +                                                     // 2
        "listeners:\n" +                                                    // 3
        "  - name: main\n" +                                                // 4
        "    port: 18080\n" +                                               // 5
        "    virtual_hosts:\n" +                                            // 6
        "      - routes:\n" +                                               // 7
        "          - match: {regex: \"/a(\"}\n" +                           // 8  regex does not compile
        "            cluster: main\n" +                                     // 9
        "          - prefix: /w\n" +                                        // 10
        "            weighted_clusters: [{cluster: gone, weight: 1}]\n" +   // 11 unknown cluster
        "          - prefix: /r\n" +                                        // 12
        "            redirect: {response_code: 305}\n" +                    // 13 not a redirect code
        "          - match: {prefix: /x, path: /x}\n" +                     // 14 two path kinds
        "            direct_response: {status: 700}\n" +                    // 15 out of range
        "clusters:\n" +                                                     // 16
        "  - name: main\n" +                                                // 17
        "    endpoints: [\"127.0.0.1:9000\"]\n";                            // 18

    [Fact(Timeout = 60_000)]
    public async Task BadRoutes_ExitCode2_EveryErrorNamesLineAndFieldPath()
    {
        string path = Path.Combine(_dir, "routes.yaml");
        await File.WriteAllTextAsync(path, BadRoutes);

        ToolResult run = await GatewayProcess.RunToExitAsync(["--config", path], TimeSpan.FromSeconds(30));

        Assert.True(run.ExitCode == 2, run.ToString());
        string file = Regex.Escape(path);
        const string R = @"listeners\[0\]\.virtual_hosts\[0\]\.routes";
        Assert.Matches(new Regex(file + @":8:\d+: " + R + @"\[0\]\.match\.regex: invalid regex"), run.Stderr);
        Assert.Matches(new Regex(file + @":11:\d+: " + R + @"\[1\]\.weighted_clusters\[0\]\.cluster: unknown cluster 'gone'"), run.Stderr);
        Assert.Matches(new Regex(file + @":13:\d+: " + R + @"\[2\]\.redirect\.response_code: "), run.Stderr);
        Assert.Matches(new Regex(file + @":14:\d+: " + R + @"\[3\]\.match: set only one of prefix, path, regex"), run.Stderr);
        Assert.Matches(new Regex(file + @":15:\d+: " + R + @"\[3\]\.direct_response\.status: must be 200-599"), run.Stderr);
    }
}
