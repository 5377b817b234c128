// HTTP/1.1 clients to an HTTP/2 origin (a cluster with protocol: http2), through the real gateway: the other half
// of the translation the gRPC tests do not cover. The origins are Kestrel speaking HTTP/2 only, so anything that
// reached them came over HTTP/2; the core cases run twice, against an h2c origin and against an HTTPS origin (ALPN
// h2, certificate from a test CA) behind a second gateway whose cluster originates TLS.
using System.Net;
using System.Net.Http;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class Http2UpstreamFixture : IAsyncLifetime
{
    public const string TlsOriginHost = "h2.origin.test";

    public TestPki Pki { get; } = new();
    public OriginServer Origin { get; private set; } = null!;
    public OriginServer Http11Origin { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;
    public OriginServer TlsOrigin { get; private set; } = null!;
    public GatewayProcess TlsGateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await OriginServer.StartAsync("h2o", http2: true);
        Http11Origin = await OriginServer.StartAsync("h1o");
        // The same route to each protocol: what the proxy adds and rewrites must not depend on which one carries it.
        string[] sameRoute = ["rewrite: {prefix: /seen/, host: \"backend.internal:8080\"}", "retries: {attempts: 1, retry_on: 5xx}"];
        Gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Limit("via", "fastpath-e2e")
            .Route("/same-h2/", "h2", null, sameRoute)
            .Route("/same-h1/", "h1", null, sameRoute)
            .Route("/rewritten/", "h2", null, "rewrite: {prefix: /echo}")
            .Route("/fail-first", "h2", null, "retries: {attempts: 2, retry_on: 5xx, backoff: {base_interval: 1ms, max_interval: 2ms}}")
            .Route("/", "h2")
            .Cluster("h2", [Origin.Address], "protocol: http2")
            .Cluster("h1", Http11Origin.Address), accessLog: true);
        TlsOrigin = await OriginServer.StartAsync("h2tls", http2: true, new OriginTls(Pki.Issue("h2origin", [TlsOriginHost])));
        TlsGateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/", "h2tls")
            .Cluster("h2tls", [TlsOrigin.Address], "protocol: http2", $"tls: {{mode: SIMPLE, sni: {TlsOriginHost}, trust_bundle: {Pki.CaFile}}}"));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
        await Http11Origin.DisposeAsync();
        await TlsGateway.DisposeAsync();
        await TlsOrigin.DisposeAsync();
        Pki.Dispose();
    }
}

public sealed class Http2UpstreamTests(Http2UpstreamFixture fixture) : IClassFixture<Http2UpstreamFixture>
{
    private readonly GatewayProcess _gateway = fixture.Gateway;
    private readonly OriginServer _origin = fixture.Origin;

    /// <summary>The gateway and origin of one column of the matrix: h2c, or h2 over TLS.</summary>
    private (GatewayProcess Gateway, OriginServer Origin) Path(bool tls) => tls ? (fixture.TlsGateway, fixture.TlsOrigin) : (_gateway, _origin);

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Http11Get_ReachesHttp2Origin_WithForwardingFields(bool tls)
    {
        (GatewayProcess gateway, OriginServer origin) = Path(tls);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using HttpResponseMessage r = await client.GetAsync(gateway.Url("/plain?q=1"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(new Version(1, 1), r.Version);
        Assert.Equal($"origin={origin.Id} GET /plain?q=1\n", await r.Content.ReadAsStringAsync());
        OriginRequest seen = origin.Requests.Last(q => q.PathAndQuery == "/plain?q=1");
        Assert.Equal("HTTP/2", seen.Protocol);
        Assert.Equal($"127.0.0.1:{gateway.Port}", seen.Header("host")); // :authority
        Assert.Equal("127.0.0.1", seen.Header("x-forwarded-for"));
        Assert.Equal("http", seen.Header("x-forwarded-proto"));
        Assert.NotNull(seen.Header("x-request-id"));
        if (tls) Assert.True(await TcpProxyTests.MetricAsync(gateway, "fastpath_tls_handshakes_total{direction=\"upstream\"}") >= 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task ForwardingAndRewrites_AreTheSame_ToAnHttp2AndAnHttp11Origin()
    {
        // One ForwardedFields value feeds both upstream heads; this holds them to it field by field.
        string id = Guid.NewGuid().ToString("N");
        async Task<OriginRequest> SendAsync(string prefix, OriginServer origin)
        {
            RawResponse r = await RawHttpConnection.SendOnceAsync(_gateway.Port,
                RawHttpConnection.Get($"{prefix}x?id={id}", ["X-Forwarded-For: 203.0.113.7", $"X-Request-Id: {id}", "X-Envoy-Attempt-Count: 9"]));
            Assert.Equal(200, r.Status);
            return Assert.Single(origin.Requests, q => q.PathAndQuery == $"/seen/x?id={id}");
        }
        OriginRequest h2 = await SendAsync("/same-h2/", _origin);
        OriginRequest h1 = await SendAsync("/same-h1/", fixture.Http11Origin);
        Assert.Equal("HTTP/2", h2.Protocol);
        Assert.Equal("HTTP/1.1", h1.Protocol);
        foreach (string field in new[] { "host", "x-forwarded-for", "x-forwarded-proto", "x-request-id", "via", "x-envoy-attempt-count" })
            Assert.True(h2.Header(field) == h1.Header(field), $"{field}: HTTP/2 origin saw '{h2.Header(field)}', HTTP/1.1 origin '{h1.Header(field)}'");
        Assert.Equal("backend.internal:8080", h2.Header("host"));
        Assert.Equal("203.0.113.7, 127.0.0.1", h2.Header("x-forwarded-for"));
        Assert.Equal(id, h2.Header("x-request-id"));
        Assert.Equal("1.1 fastpath-e2e", h2.Header("via"));
        Assert.Equal("1", h2.Header("x-envoy-attempt-count")); // the proxy's count replaces the client's
    }

    [Fact(Timeout = 60_000)]
    public async Task ForwardedFor_EveryEarlierFieldInOrder_ThenTheClient_HoweverLong()
    {
        // Several x-forwarded-for fields are one list (RFC 9110 section 5.3); the HTTP/2 head carries them whole and
        // in order as the HTTP/1.1 writer does (it once kept only the last field, and dropped hops past 512 bytes).
        string longHops = string.Join(", ", Enumerable.Range(1, 60).Select(i => $"198.51.100.{i}"));
        foreach (string[] fields in new[]
                 {
                     new[] { "X-Forwarded-For: 203.0.113.7", "X-Forwarded-For: 192.0.2.1" },
                     new[] { "X-Forwarded-For: " + longHops },
                 })
        {
            string path = $"/xff?t={Guid.NewGuid():N}";
            RawResponse r = await RawHttpConnection.SendOnceAsync(_gateway.Port, RawHttpConnection.Get(path, fields));
            Assert.Equal(200, r.Status);
            OriginRequest seen = Assert.Single(_origin.Requests, q => q.PathAndQuery == path);
            Assert.Equal("HTTP/2", seen.Protocol);
            string earlier = string.Join(", ", fields.Select(f => f["X-Forwarded-For: ".Length..]));
            Assert.Equal(earlier + ", 127.0.0.1", seen.Header("x-forwarded-for"));
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(0, false)]
    [InlineData(100_000, false)]
    [InlineData(3 * 1024 * 1024, false)]
    [InlineData(0, true)]
    [InlineData(3 * 1024 * 1024, true)]
    public async Task Http11Post_EchoedThroughHttp2Origin(int size, bool tls)
    {
        byte[] body = new byte[size];
        new Random(size).NextBytes(body);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using HttpResponseMessage r = await client.PostAsync(Path(tls).Gateway.Url("/echo"), new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(body, await r.Content.ReadAsByteArrayAsync());
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Download_EightMiB_ArrivesWhole(bool tls)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        byte[] body = await client.GetByteArrayAsync(Path(tls).Gateway.Url("/download?bytes=8388608"));
        Assert.Equal(8 * 1024 * 1024, body.Length);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ChunkedRequestWithTrailers_TrailersReachHttp2Origin(bool tls)
    {
        (GatewayProcess gateway, OriginServer origin) = Path(tls);
        RawResponse r = await PostChunkedWithTrailerAsync(gateway, "/count");
        Assert.Equal(200, r.Status);
        Assert.Equal($"origin={origin.Id} bytes=5\n", r.BodyText);
        OriginRequest seen = origin.Requests.Last(q => q.PathAndQuery == "/count");
        Assert.Equal("5", seen.Trailers["x-sum"]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_ChunkedRequestWithTrailers_ReplayCarriesTheTrailers()
    {
        // The first try is answered 503 after the origin read the body and its trailers; the retry replays the
        // buffered body and must end it with the same trailers, not with END_STREAM on the last DATA.
        string key = Guid.NewGuid().ToString("N");
        RawResponse r = await PostChunkedWithTrailerAsync(_gateway, $"/fail-first?key={key}");
        Assert.Equal(200, r.Status);
        Assert.Equal("origin=h2o bytes=5\n", r.BodyText);
        AssertBothTriesCarried(key, "x-sum", "5");
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_Http2RequestWithTrailers_ReplayCarriesTheTrailers()
    {
        // HTTP/2 both ways: the client's trailers arrive in the stream and must reach the origin on every try.
        string key = Guid.NewGuid().ToString("N");
        string file = System.IO.Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "payload");
        try
        {
            ToolResult r = await ExternalTool.RunAsync("nghttp", ["-n", "--no-content-length", "-d", file, "--trailer", "x-trailer: t1",
                _gateway.Url($"/fail-first?key={key}").ToString()], TimeSpan.FromSeconds(20));
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        finally
        {
            File.Delete(file);
        }
        AssertBothTriesCarried(key, "x-trailer", "t1");
    }

    /// <summary>POSTs "hello" over HTTP/1.1, chunked, with the trailer x-sum: 5.</summary>
    private static async Task<RawResponse> PostChunkedWithTrailerAsync(GatewayProcess gateway, string target)
    {
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        await client.SendAsync($"POST {target} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-sum: 5\r\n\r\n");
        return await client.ReadResponseAsync();
    }

    private void AssertBothTriesCarried(string key, string trailer, string value)
    {
        OriginRequest[] tries = _origin.Requests.Where(q => q.PathAndQuery == $"/fail-first?key={key}").ToArray();
        Assert.Equal(2, tries.Length);
        Assert.All(tries, t => Assert.Equal(value, t.Trailers.GetValueOrDefault(trailer)));
        Assert.Equal(tries[0].BodyBytes, tries[1].BodyBytes);
    }

    [Fact(Timeout = 60_000)]
    public async Task Http11RequestId_ReachesHttp2OriginOnce()
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, _gateway.Url("/with-request-id"));
        request.Headers.Add("x-request-id", "client-id-1");
        using HttpResponseMessage r = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("client-id-1", _origin.Requests.Last(q => q.PathAndQuery == "/with-request-id").Header("x-request-id"));
    }

    [Fact(Timeout = 60_000)]
    public async Task RouteRewrite_AppliedOnTheHttp2Path()
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using HttpResponseMessage r = await client.PostAsync(_gateway.Url("/rewritten/"), new StringContent("abc"));
        Assert.Equal("abc", await r.Content.ReadAsStringAsync());
        Assert.Contains(_origin.Requests, q => q.PathAndQuery == "/echo");
    }

    [Fact(Timeout = 60_000)]
    public async Task ManyConcurrentRequests_MultiplexedOnFewConnections()
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 32 });
        int before = _origin.ConnectionCount;
        var calls = Enumerable.Range(0, 200).Select(i => client.GetStringAsync(_gateway.Url($"/m{i}")));
        string[] bodies = await Task.WhenAll(calls);
        Assert.All(bodies, b => Assert.StartsWith("origin=h2o GET /m", b));
        // 200 requests from up to 32 client connections share the pool's HTTP/2 connection(s) to the origin.
        Assert.True(_origin.ConnectionCount - before <= 2, $"{_origin.ConnectionCount - before} new origin connections");
    }
}

public sealed class Http2UpstreamKeepaliveTests
{
    [Fact(Timeout = 60_000)]
    public async Task SilentOrigin_KeepalivePingUnanswered_ConnectionClosed_RequestFailsLongBeforeRouteTimeout()
    {
        // An origin that completes the HTTP/2 handshake and then goes silent (a hung host, a dropped NAT mapping):
        // it reads whatever arrives and answers nothing, PINGs included.
        var closedByGateway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = new RawOrigin(async c =>
        {
            byte[] settings = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];
            byte[] settingsAck = [0, 0, 0, 0x4, 0x1, 0, 0, 0, 0];
            await c.WriteAsync([.. settings, .. settingsAck]);
            byte[] buffer = new byte[4096];
            while (await c.Socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, c.Token) > 0)
            {
            }
            closedByGateway.TrySetResult();
        });
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/", "silent", "30s")
            .Cluster("silent", [origin.Address], "protocol: http2", "http2: {connection_keepalive: {interval: 200ms, timeout: 300ms}}"));
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(40) };

        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        using HttpResponseMessage r = await client.GetAsync(gateway.Url("/hangs"));

        Assert.Equal(HttpStatusCode.BadGateway, r.StatusCode);
        Assert.Equal("upstream connection reset before response\n", await r.Content.ReadAsStringAsync());
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(10), $"took {elapsed.Elapsed}; the route timeout is 30 s");
        await closedByGateway.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
