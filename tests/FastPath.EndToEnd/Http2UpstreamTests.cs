// HTTP/1.1 clients to an HTTP/2 origin (a cluster with protocol: http2), through the real gateway: the other half
// of the translation the gRPC tests do not cover. The origin is Kestrel speaking h2c only, so anything that
// reached it came over HTTP/2.
using System.Net;
using System.Net.Http;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class Http2UpstreamFixture : IAsyncLifetime
{
    public OriginServer Origin { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await OriginServer.StartAsync("h2o", http2: true);
        Gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/rewritten/", "h2", null, "rewrite: {prefix: /echo}")
            .Route("/fail-first", "h2", null, "retries: {attempts: 2, retry_on: 5xx, backoff: {base_interval: 1ms, max_interval: 2ms}}")
            .Route("/", "h2")
            .Cluster("h2", [Origin.Address], "protocol: http2"), accessLog: true);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

public sealed class Http2UpstreamTests(Http2UpstreamFixture fixture) : IClassFixture<Http2UpstreamFixture>
{
    private readonly GatewayProcess _gateway = fixture.Gateway;
    private readonly OriginServer _origin = fixture.Origin;

    [Fact(Timeout = 60_000)]
    public async Task Http11Get_ReachesHttp2Origin_WithForwardingFields()
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using HttpResponseMessage r = await client.GetAsync(_gateway.Url("/plain?q=1"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(new Version(1, 1), r.Version);
        Assert.Equal("origin=h2o GET /plain?q=1\n", await r.Content.ReadAsStringAsync());
        OriginRequest seen = _origin.Requests.Last(q => q.PathAndQuery == "/plain?q=1");
        Assert.Equal($"127.0.0.1:{_gateway.Port}", seen.Header("host")); // :authority
        Assert.Equal("127.0.0.1", seen.Header("x-forwarded-for"));
        Assert.Equal("http", seen.Header("x-forwarded-proto"));
        Assert.NotNull(seen.Header("x-request-id"));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(0)]
    [InlineData(100_000)]
    [InlineData(3 * 1024 * 1024)]
    public async Task Http11Post_EchoedThroughHttp2Origin(int size)
    {
        byte[] body = new byte[size];
        new Random(size).NextBytes(body);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using HttpResponseMessage r = await client.PostAsync(_gateway.Url("/echo"), new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(body, await r.Content.ReadAsByteArrayAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task ChunkedRequestWithTrailers_TrailersReachHttp2Origin()
    {
        RawResponse r = await PostChunkedWithTrailerAsync("/count");
        Assert.Equal(200, r.Status);
        Assert.Equal("origin=h2o bytes=5\n", r.BodyText);
        OriginRequest seen = _origin.Requests.Last(q => q.PathAndQuery == "/count");
        Assert.Equal("5", seen.Trailers["x-sum"]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_ChunkedRequestWithTrailers_ReplayCarriesTheTrailers()
    {
        // The first try is answered 503 after the origin read the body and its trailers; the retry replays the
        // buffered body and must end it with the same trailers, not with END_STREAM on the last DATA.
        string key = Guid.NewGuid().ToString("N");
        RawResponse r = await PostChunkedWithTrailerAsync($"/fail-first?key={key}");
        Assert.Equal(200, r.Status);
        Assert.Equal("origin=h2o bytes=5\n", r.BodyText);
        AssertBothTriesCarried(key, "x-sum", "5");
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_Http2RequestWithTrailers_ReplayCarriesTheTrailers()
    {
        // HTTP/2 both ways: the client's trailers arrive in the stream and must reach the origin on every try.
        string key = Guid.NewGuid().ToString("N");
        string file = Path.GetTempFileName();
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
    private async Task<RawResponse> PostChunkedWithTrailerAsync(string target)
    {
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(_gateway.Port);
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
