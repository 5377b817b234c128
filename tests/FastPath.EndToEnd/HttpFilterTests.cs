// The built-in HTTP filters through the real gateway: header mutation seen by the origin and by the client, fault
// abort share and flags in the access log, fault delay, the local rate limit's exact burst and x-ratelimit-* fields,
// CORS preflight and actual requests, and request mirroring to a "-shadow" host that never slows the main request
// (bodies included, up to max_body_bytes, copied with content-length framing).
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class HttpFilterTests
{
    private static string Request(string method, string path, string host, params string[] fields)
    {
        var s = new System.Text.StringBuilder($"{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
        foreach (string f in fields) s.Append(f).Append("\r\n");
        return s.Append("\r\n").ToString();
    }

    [Fact(Timeout = 60_000)]
    public async Task HeaderMutation_RequestAndResponse_OriginAndClientSeeTheChanges()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .HostFields("request_headers: {set: {x-scope: host}, add: {x-host-added: '1'}}")
            .Route("/", "main")
            .RouteFields("request_headers: {set: {x-env: canary, x-scope: route}, add: {x-tag: added}, remove: [x-debug]}",
                "response_headers: {set: {x-served-by: fastpath}, add: {x-extra: one}, remove: [x-origin-id]}")
            .Cluster("main", origin.Address));

        RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port,
            RawHttpConnection.Get("/headers?m=1", "X-Env: prod", "X-Tag: client", "X-Debug: 1", "X-Kept: yes"));

        Assert.Equal(200, r.Status);
        OriginRequest seen = Assert.Single(origin.Requests, q => q.PathAndQuery == "/headers?m=1");
        Assert.Equal("canary", seen.Header("x-env"));
        Assert.Equal(["client", "added"], seen.Header("x-tag")!.Split(',').Select(v => v.Trim()));
        Assert.Null(seen.Header("x-debug"));
        Assert.Equal("yes", seen.Header("x-kept"));
        Assert.Equal("route", seen.Header("x-scope"));        // host and route both set it: the route wins
        Assert.Equal("1", seen.Header("x-host-added"));
        Assert.Equal("fastpath", r.Header("x-served-by"));
        Assert.Equal("one", r.Header("x-extra"));
        Assert.Null(r.Header("x-origin-id"));
        Assert.Equal("application/json", r.Header("content-type"));
    }

    [Fact(Timeout = 60_000)]
    public async Task HeaderMutation_PerDestination_EachVersionGetsItsOwnHeaders()
    {
        await using OriginServer v1 = await OriginServer.StartAsync("v1");
        await using OriginServer v2 = await OriginServer.StartAsync("v2");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .RawRoute("""
                prefix: /
                request_headers: {set: {x-route: split}}
                weighted_clusters:
                  - {cluster: v1, weight: 1, request_headers: {set: {x-version: v1}}, response_headers: {set: {x-dest: v1}}}
                  - {cluster: v2, weight: 1, request_headers: {set: {x-version: v2}, remove: [x-route]}, response_headers: {set: {x-dest: v2}}}
                """)
            .Cluster("v1", v1.Address)
            .Cluster("v2", v2.Address));

        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        var served = new HashSet<string>();
        for (int i = 0; i < 40; i++)
        {
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/d/{i}"));
            Assert.Equal(200, r.Status);
            string origin = r.Header("x-origin-id")!;
            served.Add(origin);
            Assert.Equal(origin, r.Header("x-dest"));   // the response header of the destination that served it
        }

        Assert.Equal(["v1", "v2"], served.Order());   // 40 random request ids reach both halves of a 1:1 split
        Assert.All(v1.Requests, q => Assert.Equal(("v1", "split"), (q.Header("x-version"), q.Header("x-route"))));
        Assert.All(v2.Requests, q => Assert.Equal(("v2", (string?)null), (q.Header("x-version"), q.Header("x-route"))));
    }

    [Fact(Timeout = 120_000)]
    public async Task FaultAbort_HalfOf2000_WithinFivePoints_FiInAccessLog()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("fault: {abort: {http_status: 503, percentage: 50}}")
            .Cluster("main", origin.Address), accessLog: true);

        int aborted = 0, ok = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async worker =>
        {
            await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
            for (int i = 0; i < 500; i++)
            {
                RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/f/{worker}/{i}"));
                if (r.Status == 503)
                {
                    Assert.Equal("fault filter abort\n", r.BodyText);
                    Interlocked.Increment(ref aborted);
                }
                else
                {
                    Assert.Equal(200, r.Status);
                    Interlocked.Increment(ref ok);
                }
            }
        }));

        Assert.Equal(2000, aborted + ok);
        Assert.InRange(aborted, 900, 1100);
        Assert.Equal(ok, origin.RequestCount);   // aborted requests never reach the origin
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("status").GetInt32() == 503);
        Assert.Equal("FI", log.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task FaultDelay_EveryRequestTakesAtLeastTheDelay_ConcurrentDelaysDoNotQueue_DiInAccessLog()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("fault: {delay: {fixed_delay: 500ms, percentage: 100}}")
            .Cluster("main", origin.Address), accessLog: true);
        await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/warm"));

        // 32 delayed requests at once on a 2-core machine: if a delay held a thread they would queue behind each other.
        var all = Stopwatch.StartNew();
        TimeSpan[] each = await Task.WhenAll(Enumerable.Range(0, 32).Select(async i =>
        {
            var sw = Stopwatch.StartNew();
            RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get($"/d/{i}"));
            Assert.Equal(200, r.Status);
            return sw.Elapsed;
        }));
        all.Stop();

        Assert.All(each, t => Assert.True(t >= TimeSpan.FromMilliseconds(500), $"took {t.TotalMilliseconds} ms"));
        Assert.True(all.Elapsed < TimeSpan.FromSeconds(3), $"32 concurrent delays took {all.Elapsed.TotalMilliseconds} ms");
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/d/0");
        Assert.Equal("DI", log.GetProperty("response_flags").GetString());
        Assert.Equal(200, log.GetProperty("status").GetInt32());
    }

    [Fact(Timeout = 60_000)]
    public async Task RateLimit_BurstOf30_Exactly10Pass_Rest429WithRateLimitHeaders()
    {
        // A long fill interval keeps the burst inside one fill period whatever the machine's speed; refill timing is
        // covered to the tick by TokenBucketTests with an injected clock, and by the 1s test below.
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .HostFields("rate_limit: {max_tokens: 10, tokens_per_fill: 10, fill_interval: 1h, enable_x_ratelimit_headers: DRAFT_VERSION_03}")
            .Route("/a", "main").Route("/b", "main")
            .Cluster("main", origin.Address), accessLog: true);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        var statuses = new List<int>();
        var remaining = new List<string?>();
        for (int i = 0; i < 30; i++)
        {
            // Two routes of one virtual host: the host's bucket is shared by both.
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get(i % 2 == 0 ? $"/a/{i}" : $"/b/{i}"));
            statuses.Add(r.Status);
            remaining.Add(r.Header("x-ratelimit-remaining"));
            Assert.Equal("10", r.Header("x-ratelimit-limit"));
            Assert.InRange(long.Parse(r.Header("x-ratelimit-reset")!), 1, 3600);
            if (r.Status == 429) Assert.Equal("local_rate_limited\n", r.BodyText);
        }

        Assert.Equal(Enumerable.Repeat(200, 10).Concat(Enumerable.Repeat(429, 20)), statuses);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (9 - i).ToString()).Concat(Enumerable.Repeat("0", 20)), remaining);
        Assert.Equal(10, origin.RequestCount);
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("status").GetInt32() == 429);
        Assert.Equal("RL", log.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task RateLimit_TenPerSecond_RefillsAfterTheInterval()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("rate_limit: {max_tokens: 10, tokens_per_fill: 10, fill_interval: 1s}")
            .Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        async Task<int> BurstAsync()
        {
            int passed = 0;
            for (int i = 0; i < 30; i++) if ((await client.RoundTripAsync(RawHttpConnection.Get("/r"))).Status == 200) passed++;
            return passed;
        }

        // A burst may straddle one fill boundary (then one extra fill passes): between 10 and 20, never more.
        Assert.InRange(await BurstAsync(), 10, 20);
        await Task.Delay(1100);
        Assert.InRange(await BurstAsync(), 10, 20);
    }

    private const string CorsFields = "cors: {allow_origins: [{exact: 'https://app.example'}, {regex: 'https://[a-z]+\\.partner\\.io'}], " +
                                      "allow_methods: [GET, POST], allow_headers: [authorization, content-type], expose_headers: [x-origin-id], " +
                                      "max_age: 1h, allow_credentials: true}";

    [Fact(Timeout = 60_000)]
    public async Task Cors_PreflightFromAllowedOrigin_AnsweredByTheProxy()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").RouteFields(CorsFields)
            .Cluster("main", origin.Address));

        RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port, Request("OPTIONS", "/api/items", "localhost",
            "Origin: https://app.example", "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: content-type"));

        Assert.Equal(200, r.Status);
        Assert.Equal("https://app.example", r.Header("access-control-allow-origin"));
        Assert.Equal("GET,POST", r.Header("access-control-allow-methods"));
        Assert.Equal("authorization,content-type", r.Header("access-control-allow-headers"));
        Assert.Equal("3600", r.Header("access-control-max-age"));
        Assert.Equal("true", r.Header("access-control-allow-credentials"));
        Assert.Equal("0", r.Header("content-length"));
        Assert.Equal(0, origin.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task Cors_ActualRequests_AllowedOriginGetsHeaders_DisallowedGetsNone()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").RouteFields(CorsFields)
            .Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        RawResponse allowed = await client.RoundTripAsync(RawHttpConnection.Get("/c/1", "Origin: https://shop.partner.io"));
        RawResponse disallowed = await client.RoundTripAsync(RawHttpConnection.Get("/c/2", "Origin: https://evil.example"));
        RawResponse preflightDisallowed = await client.RoundTripAsync(Request("OPTIONS", "/c/3", "localhost",
            "Origin: https://evil.example", "Access-Control-Request-Method: POST"));

        Assert.Equal(200, allowed.Status);
        Assert.Equal("https://shop.partner.io", allowed.Header("access-control-allow-origin"));
        Assert.Equal("true", allowed.Header("access-control-allow-credentials"));
        Assert.Equal("x-origin-id", allowed.Header("access-control-expose-headers"));
        Assert.Equal(200, disallowed.Status);
        Assert.DoesNotContain(disallowed.Headers, h => h.Key.StartsWith("access-control-", StringComparison.OrdinalIgnoreCase));
        // Not answered by the proxy: the origin gets it, and no CORS header is added.
        Assert.Equal("a", preflightDisallowed.Header("x-origin-id"));
        Assert.DoesNotContain(preflightDisallowed.Headers, h => h.Key.StartsWith("access-control-", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(3, origin.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task LocalReplies_PassBackThroughEarlierFilters_CorsOn429_ResponseHeadersOn503()
    {
        // A browser can only read a 429 that carries Access-Control-Allow-Origin; the proxy's own 503 gets the
        // route's response headers like any response.
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .HostFields(CorsFields, "rate_limit: {max_tokens: 1, fill_interval: 1h}")
            .Route("/up", "main")
            .Route("/down", "down").RouteFields("response_headers: {set: {x-served-by: fastpath}}", "rate_limit: {max_tokens: 5, fill_interval: 1h}")
            .Cluster("main", origin.Address).Cluster("down", [$"127.0.0.1:{Ports.GetClosed()}"], "connect_timeout: 1s"));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get("/up/1", "Origin: https://app.example"))).Status);
        RawResponse limited = await client.RoundTripAsync(RawHttpConnection.Get("/up/2", "Origin: https://app.example"));
        RawResponse down = await client.RoundTripAsync(RawHttpConnection.Get("/down/1", "Origin: https://app.example"));

        Assert.Equal(429, limited.Status);
        Assert.Equal("https://app.example", limited.Header("access-control-allow-origin"));
        Assert.Equal("1", limited.Header("x-ratelimit-limit"));
        Assert.Equal(503, down.Status);
        Assert.Equal("fastpath", down.Header("x-served-by"));
        Assert.Equal("https://app.example", down.Header("access-control-allow-origin"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Mirror_ShadowOriginSeesCopyWithShadowHost_MainAnswersNormally()
    {
        await using OriginServer main = await OriginServer.StartAsync("main");
        await using OriginServer shadow = await OriginServer.StartAsync("shadow");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("request_headers: {set: {x-env: canary}}", "mirror: {cluster: shadow, percentage: 100}")
            .Cluster("main", main.Address).Cluster("shadow", shadow.Address));

        RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port, Request("GET", "/m/1?q=2", "shop.example.com:8080", "X-Request-Id: mirror-1"));

        Assert.Equal(200, r.Status);
        Assert.Equal("main", r.Header("x-origin-id"));
        OriginRequest copy = await WaitForAsync(() => shadow.Requests.FirstOrDefault(q => q.PathAndQuery == "/m/1?q=2"));
        Assert.Equal("shop.example.com-shadow:8080", copy.Header("host"));
        Assert.Equal("canary", copy.Header("x-env"));
        Assert.Equal("mirror-1", copy.Header("x-request-id"));
        Assert.Equal("127.0.0.1", copy.Header("x-forwarded-for"));
        Assert.Equal("shop.example.com:8080", Assert.Single(main.Requests).Header("host"));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Mirror_Http2ShadowCluster_GetsCopiesOfGetAndPost_OverHttp2(bool autoOverTls)
    {
        // A shadow cluster that speaks HTTP/2 gets the copies as streams, bodies included: protocol http2 (h2c with
        // prior knowledge), or protocol auto over TLS where the origin picks h2 by ALPN.
        using var pki = new TestPki();
        await using OriginServer main = await OriginServer.StartAsync("main");
        await using OriginServer shadow = autoOverTls
            ? await OriginServer.StartAsync("shadow", http2: true, new OriginTls(pki.Issue("shadow", ["shadow.test"])))
            : await OriginServer.StartAsync("shadow", http2: true);
        string[] shadowFields = autoOverTls
            ? ["protocol: auto", $"tls: {{mode: SIMPLE, sni: shadow.test, trust_bundle: {pki.CaFile}}}"]
            : ["protocol: http2"];
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("request_headers: {set: {x-env: canary}}", "mirror: {cluster: shadow, percentage: 100, max_body_bytes: 65536}")
            .Cluster("main", main.Address).Cluster("shadow", [shadow.Address], shadowFields));
        byte[] body = Body(20_000);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        RawResponse got = await client.RoundTripAsync(Request("GET", "/m/1?q=2", "shop.example.com:8080", "X-Request-Id: mirror-h2"));
        await client.SendAsync(Post("/echo", "shop.example.com", body, chunked: false, chunkSize: 7_000));
        RawResponse posted = await client.ReadResponseAsync();

        Assert.Equal(200, got.Status);
        Assert.Equal(200, posted.Status);
        Assert.Equal(body, posted.Body);
        OriginRequest copy = await WaitForAsync(() => shadow.Requests.FirstOrDefault(q => q.PathAndQuery == "/m/1?q=2"));
        Assert.Equal("HTTP/2", copy.Protocol);
        Assert.Equal("GET", copy.Method);
        Assert.Equal("shop.example.com-shadow:8080", copy.Header("host"));
        Assert.Equal("canary", copy.Header("x-env"));
        Assert.Equal("mirror-h2", copy.Header("x-request-id"));
        Assert.Equal("127.0.0.1", copy.Header("x-forwarded-for"));
        OriginRequest postCopy = await WaitForAsync(() => shadow.Requests.FirstOrDefault(q => q.PathAndQuery == "/echo"));
        Assert.Equal("POST", postCopy.Method);
        Assert.Equal(body.Length, postCopy.BodyBytes);
        Assert.Equal("shop.example.com-shadow", postCopy.Header("host"));
        (_, string stats) = await gateway.AdminGetAsync("/stats/prometheus");
        Assert.Equal(0, MirrorCount(stats, "failed"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Mirror_ShadowNeverAnswers_MainUnaffected_ExtraCopiesDroppedAndCounted()
    {
        int shadowConnections = 0;
        await using var silent = new RawOrigin(async c =>
        {
            Interlocked.Increment(ref shadowConnections);
            await c.ReadHeadAsync();
            await Task.Delay(Timeout.Infinite, c.Token);
        });
        await using OriginServer main = await OriginServer.StartAsync("main");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("mirror: {cluster: shadow, percentage: 100, max_in_flight: 4, timeout: 30s}")
            .Cluster("main", main.Address).Cluster("shadow", silent.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        for (int i = 0; i < 20; i++)
        {
            var sw = Stopwatch.StartNew();
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/s/{i}"));
            Assert.Equal(200, r.Status);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"request {i} took {sw.Elapsed.TotalMilliseconds} ms");
        }

        Assert.Equal(20, main.RequestCount);
        (_, string stats) = await gateway.AdminGetAsync("/stats/prometheus");
        Assert.Equal(16, MirrorCount(stats, "dropped"));
        Assert.InRange(Volatile.Read(ref shadowConnections), 1, 4);
    }

    [Fact(Timeout = 60_000)]
    public async Task Mirror_ShadowDown_MainUnaffected_FailuresCounted()
    {
        await using OriginServer main = await OriginServer.StartAsync("main");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("mirror: {cluster: shadow, percentage: 100}")
            .Cluster("main", main.Address).Cluster("shadow", [$"127.0.0.1:{Ports.GetClosed()}"], "connect_timeout: 1s"));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        for (int i = 0; i < 10; i++) Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get($"/down/{i}"))).Status);

        Assert.Equal(10, main.RequestCount);
        await WaitForAsync(async () => MirrorCount((await gateway.AdminGetAsync("/stats/prometheus")).Body, "failed") == 10 ? "" : null);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Mirror_PostWithBody_ShadowGetsSameBytesFramedByContentLength_MainUnchanged(bool chunked)
    {
        var copies = new System.Collections.Concurrent.ConcurrentQueue<(string Head, byte[] Body)>();
        await using RawOrigin shadow = RecordingShadow(copies);
        await using OriginServer main = await OriginServer.StartAsync("main");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("mirror: {cluster: shadow, percentage: 100, max_body_bytes: 65536}")
            .Cluster("main", main.Address).Cluster("shadow", shadow.Address));
        byte[] body = Body(20_000);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        await client.SendAsync(Post("/echo", "shop.example.com", body, chunked, chunkSize: 7_000));
        RawResponse r = await client.ReadResponseAsync();

        Assert.Equal(200, r.Status);
        Assert.Equal(body, r.Body);                                   // the main origin echoed exactly what it got
        OriginRequest seen = Assert.Single(main.Requests);
        Assert.Equal(body.Length, seen.BodyBytes);
        Assert.Equal(chunked ? null : "20000", seen.Header("content-length"));
        Assert.Equal(chunked ? "chunked" : null, seen.Header("transfer-encoding"));
        Assert.Equal("shop.example.com", seen.Header("host"));
        Assert.Equal(chunked ? "1" : null, seen.Trailers.GetValueOrDefault("x-sum"));   // the main request keeps its trailers
        (string head, byte[] copy) = await WaitForAsync(() => copies.TryPeek(out var c) ? Tuple.Create(c.Head, c.Body) : null);
        Assert.StartsWith("POST /echo HTTP/1.1\r\n", head);
        Assert.Contains("host: shop.example.com-shadow\r\n", head);
        Assert.Contains("content-length: 20000\r\n", head);
        Assert.DoesNotContain("transfer-encoding", head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("trailer", head, StringComparison.OrdinalIgnoreCase);   // the copy has none, and announces none
        Assert.Equal(body, copy);
        Assert.Single(copies);
        // The same connection carries the next request normally.
        Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get("/after"))).Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task Mirror_PostOverMaxBodyBytes_NotMirrored_SkippedBodyCounted_MainUnchanged()
    {
        var copies = new System.Collections.Concurrent.ConcurrentQueue<(string Head, byte[] Body)>();
        await using RawOrigin shadow = RecordingShadow(copies);
        await using OriginServer main = await OriginServer.StartAsync("main");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("mirror: {cluster: shadow, percentage: 100, max_body_bytes: 1024}")
            .Cluster("main", main.Address).Cluster("shadow", shadow.Address));
        byte[] body = Body(4096);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        // Known too large from its Content-Length; then found too large mid-stream (chunked, 512-byte chunks).
        foreach (bool chunked in new[] { false, true })
        {
            await client.SendAsync(Post("/echo", "shop.example.com", body, chunked, chunkSize: 512));
            RawResponse r = await client.ReadResponseAsync();
            Assert.Equal(200, r.Status);
            Assert.Equal(body, r.Body);
        }

        await WaitForAsync(async () => MirrorCount((await gateway.AdminGetAsync("/stats/prometheus")).Body, "skipped_body") == 2 ? "" : null);
        (_, string stats) = await gateway.AdminGetAsync("/stats/prometheus");
        Assert.Equal(0, MirrorCount(stats, "sent"));
        Assert.Equal(0, shadow.ConnectionCount);
        Assert.Empty(copies);
        Assert.Equal(2, main.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task Mirror_ClientGoneMidBody_NothingMirrored_SkippedBodyCounted()
    {
        var copies = new System.Collections.Concurrent.ConcurrentQueue<(string Head, byte[] Body)>();
        await using RawOrigin shadow = RecordingShadow(copies);
        await using OriginServer main = await OriginServer.StartAsync("main");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("mirror: {cluster: shadow, percentage: 100}")
            .Cluster("main", main.Address).Cluster("shadow", shadow.Address));

        await using (RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port))
        {
            // /count answers once it has the whole body, so the exchange waits on the upload when the client leaves.
            await client.SendAsync("POST /count HTTP/1.1\r\nHost: shop.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            await WaitForAsync(() => main.InFlight == 1 ? "" : null);   // the body is streaming to the main origin
        }

        await WaitForAsync(async () => MirrorCount((await gateway.AdminGetAsync("/stats/prometheus")).Body, "skipped_body") == 1 ? "" : null);
        Assert.Equal(0, shadow.ConnectionCount);
        Assert.Empty(copies);
        // The gateway goes on serving mirrored bodies.
        byte[] body = Body(100);
        await using RawHttpConnection next = await RawHttpConnection.ConnectAsync(gateway.Port);
        await next.SendAsync(Post("/echo", "shop.example.com", body, chunked: true, chunkSize: 40));
        Assert.Equal(body, (await next.ReadResponseAsync()).Body);
        (_, byte[] copy) = await WaitForAsync(() => copies.TryPeek(out var c) ? Tuple.Create(c.Head, c.Body) : null);
        Assert.Equal(body, copy);
    }

    [Fact(Timeout = 60_000)]
    public async Task Mirror_PostShadowDown_MainUnaffected_FailuresCounted()
    {
        await using OriginServer main = await OriginServer.StartAsync("main");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .RouteFields("mirror: {cluster: shadow, percentage: 100}")
            .Cluster("main", main.Address).Cluster("shadow", [$"127.0.0.1:{Ports.GetClosed()}"], "connect_timeout: 1s"));
        byte[] body = Body(3000);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        foreach (bool chunked in new[] { false, true })
        {
            var sw = Stopwatch.StartNew();
            await client.SendAsync(Post("/echo", "shop.example.com", body, chunked, chunkSize: 1000));
            RawResponse r = await client.ReadResponseAsync();
            Assert.Equal(200, r.Status);
            Assert.Equal(body, r.Body);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"the POST took {sw.Elapsed.TotalMilliseconds} ms");
        }

        Assert.Equal(2, main.RequestCount);
        await WaitForAsync(async () => MirrorCount((await gateway.AdminGetAsync("/stats/prometheus")).Body, "failed") == 2 ? "" : null);
    }

    /// <summary>A shadow origin that records each copy exactly as it arrives: its head, then a content-length body
    /// (a copy framed any other way fails the test's assertions by leaving its body empty).</summary>
    private static RawOrigin RecordingShadow(System.Collections.Concurrent.ConcurrentQueue<(string Head, byte[] Body)> copies) => new(async c =>
    {
        while (await c.ReadHeadAsync() is { } head)
        {
            Match length = Regex.Match(head, @"^content-length: *(\d+)\r$", RegexOptions.Multiline | RegexOptions.IgnoreCase);
            byte[] received = length.Success ? await c.ReadBodyAsync(long.Parse(length.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)) : [];
            copies.Enqueue((head, received));
            await c.WriteAsync("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
    });

    private static byte[] Body(int length)
    {
        byte[] body = new byte[length];
        new Random(length).NextBytes(body);
        return body;
    }

    private static byte[] Post(string path, string host, byte[] body, bool chunked, int chunkSize)
    {
        var wire = new MemoryStream();
        void Ascii(string s) => wire.Write(System.Text.Encoding.ASCII.GetBytes(s));
        Ascii($"POST {path} HTTP/1.1\r\nHost: {host}\r\n");
        if (!chunked)
        {
            Ascii($"Content-Length: {body.Length}\r\n\r\n");
            wire.Write(body);
            return wire.ToArray();
        }
        Ascii("Transfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n");
        for (int at = 0; at < body.Length; at += chunkSize)
        {
            int n = Math.Min(chunkSize, body.Length - at);
            Ascii($"{n:x}\r\n");
            wire.Write(body, at, n);
            Ascii("\r\n");
        }
        Ascii("0\r\nx-sum: 1\r\n\r\n");
        return wire.ToArray();
    }

    private static double MirrorCount(string prometheusText, string result)
    {
        Match m = Regex.Match(prometheusText, $@"fastpath_mirror_requests_total\{{cluster=""shadow"",result=""{result}""\}} (\S+)");
        return m.Success ? double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    private static Task<T> WaitForAsync<T>(Func<T?> probe) where T : class => WaitForAsync(() => Task.FromResult(probe()));

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe) where T : class
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (await probe() is { } found) return found;
            await Task.Delay(50);
        }
        Assert.Fail("condition not met within 10 s");
        return null!;
    }
}
