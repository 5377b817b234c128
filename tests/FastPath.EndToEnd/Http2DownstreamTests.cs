// HTTP/2 from clients, HTTP/1.1 to origins, through the real gateway process: h2c with prior knowledge on the same
// plaintext port as HTTP/1.1, driven by real HTTP/2 clients (curl, nghttp, h2load, .NET's HttpClient). The request
// path behind the codec is the HTTP/1.1 one, so these check the translation: heads, bodies both ways, trailers both
// ways, the proxy's own replies (including gRPC's trailers-only form), concurrency, and allocation per stream.
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class Http2DownstreamFixture : IAsyncLifetime
{
    public OriginServer Origin { get; private set; } = null!;
    public RawOrigin Trailers { get; private set; } = null!;
    /// <summary>Answers at once, then sends its chunked body one small chunk every 100 ms for ~10 s.</summary>
    public RawOrigin Slow { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await OriginServer.StartAsync("h1");
        // A chunked response with trailers (what a gRPC-over-HTTP/1.1 bridge or any streaming origin may send).
        Trailers = new RawOrigin(async c =>
        {
            while (await c.ReadHeadAsync() is { } head)
            {
                if (head.Contains("content-length", StringComparison.OrdinalIgnoreCase)) await c.ReadBodyAsync(0);
                await c.WriteAsync("HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n\r\n"
                                   + "5\r\nhello\r\n0\r\ngrpc-status: 0\r\nx-checksum: 42\r\n\r\n");
            }
        });
        Slow = new RawOrigin(async c =>
        {
            while (await c.ReadHeadAsync() is not null)
            {
                await c.WriteAsync("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
                for (int i = 0; i < 100; i++)
                {
                    await c.WriteAsync("1\r\nx\r\n");
                    await Task.Delay(100, c.Token);
                }
                await c.WriteAsync("0\r\n\r\n");
            }
        });
        Gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/slow", "slow", "500ms")
            .Route("/trailers", "trailers")
            .RawRoute("match: {path: /down}\ncluster: down")
            .RawRoute("match: {prefix: /redirect}\nredirect: {path: /moved, response_code: 308}")
            .Route("/", "main")
            .Cluster("main", Origin.Address)
            .Cluster("trailers", Trailers.Address)
            .Cluster("slow", Slow.Address)
            .Cluster("down", $"127.0.0.1:{Ports.GetClosed()}"), accessLog: true);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
        await Trailers.DisposeAsync();
        await Slow.DisposeAsync();
    }
}

public sealed class Http2DownstreamTests(Http2DownstreamFixture fixture) : IClassFixture<Http2DownstreamFixture>
{
    private readonly GatewayProcess _gateway = fixture.Gateway;
    private readonly OriginServer _origin = fixture.Origin;

    private static HttpClient H2cClient() => new(new SocketsHttpHandler { UseProxy = false })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, // http:// + exact 2.0 = prior knowledge
        Timeout = TimeSpan.FromSeconds(30),
    };

    [Fact(Timeout = 60_000)]
    public async Task CurlPriorKnowledge_Get_ReachesHttp11Origin_WithAuthorityAsHost()
    {
        ToolResult r = await ExternalTool.RunAsync("curl", ["-sS", "--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_version} %{http_code}",
            _gateway.Url("/hello?x=1").ToString()], TimeSpan.FromSeconds(20));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.EndsWith("2 200", r.Stdout);
        Assert.Contains("origin=h1 GET /hello?x=1", r.Stdout);
        OriginRequest seen = _origin.Requests.Last(q => q.PathAndQuery == "/hello?x=1");
        Assert.Equal($"127.0.0.1:{_gateway.Port}", seen.Header("host"));
        Assert.NotNull(seen.Header("x-request-id"));
    }

    [Fact(Timeout = 60_000)]
    public async Task CurlPriorKnowledge_OneLargeField_UnderTheListLimit_Forwarded()
    {
        // A 20 KB cookie: longer than the 16 KiB an HPACK string was once capped at (the connection ended with
        // COMPRESSION_ERROR), well under the listener's 64 KiB header list limit: it reaches the origin whole.
        string cookie = "session=" + new string('c', 20_000);
        ToolResult r = await ExternalTool.RunAsync("curl", ["-sS", "--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_version} %{http_code}",
            "-H", $"cookie: {cookie}", _gateway.Url("/large-cookie").ToString()], TimeSpan.FromSeconds(20));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.EndsWith("2 200", r.Stdout);
        Assert.Equal(cookie, _origin.Requests.Last(q => q.PathAndQuery == "/large-cookie").Header("cookie"));
    }

    [Fact(Timeout = 60_000)]
    public async Task ResponseLength_FromAnHttp11Origin_IsAnnouncedOverHttp2_Once()
    {
        // The origin's content-length is taken off the head to be framed anew; over HTTP/2 it is announced again, as
        // Envoy and HAProxy do. A chunked origin response announces none.
        using HttpClient client = H2cClient();
        using HttpResponseMessage known = await client.GetAsync(_gateway.Url("/download?bytes=70000"));
        Assert.Equal(new Version(2, 0), known.Version);
        Assert.Equal("70000", Assert.Single(known.Content.Headers.GetValues("content-length")));
        Assert.Equal(70_000, (await known.Content.ReadAsByteArrayAsync()).Length);
        using HttpResponseMessage chunked = await client.GetAsync(_gateway.Url("/trailers"));
        Assert.Equal("hello", await chunked.Content.ReadAsStringAsync());
        Assert.False(chunked.Content.Headers.Contains("content-length"));
    }

    [Fact(Timeout = 60_000)]
    public async Task SamePort_ServesHttp11AndHttp2()
    {
        using var h1 = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using HttpClient h2 = H2cClient();
        using HttpResponseMessage a = await h1.GetAsync(_gateway.Url("/one"));
        using HttpResponseMessage b = await h2.GetAsync(_gateway.Url("/two"));
        Assert.Equal(new Version(1, 1), a.Version);
        Assert.Equal(new Version(2, 0), b.Version);
        Assert.Equal("origin=h1 GET /one\n", await a.Content.ReadAsStringAsync());
        Assert.Equal("origin=h1 GET /two\n", await b.Content.ReadAsStringAsync());
    }

    [Theory(Timeout = 60_000)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(70_000)]          // over the default 64 KiB stream window of the client
    [InlineData(5 * 1024 * 1024)] // many times the proxy's 256 KiB stream window: flow control both ways
    public async Task Post_BodyEchoedByteForByte(int size)
    {
        byte[] body = new byte[size];
        new Random(size).NextBytes(body);
        using HttpClient client = H2cClient();
        using HttpResponseMessage r = await client.PostAsync(_gateway.Url("/echo"), new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(new Version(2, 0), r.Version);
        Assert.Equal(body, await r.Content.ReadAsByteArrayAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task Post_UnknownLength_ForwardedChunked()
    {
        byte[] body = Encoding.ASCII.GetBytes(new string('z', 100_000));
        using HttpClient client = H2cClient();
        var content = new StreamContent(new MemoryStream(body)); // no length: HTTP/2 DATA frames, chunked to the origin
        using HttpResponseMessage r = await client.PostAsync(_gateway.Url("/count"), content);
        Assert.Equal("origin=h1 bytes=100000\n", await r.Content.ReadAsStringAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task ChunkedOriginTrailers_ArriveAsHttp2Trailers()
    {
        using HttpClient client = H2cClient();
        using HttpResponseMessage r = await client.GetAsync(_gateway.Url("/trailers"));
        Assert.Equal("hello", await r.Content.ReadAsStringAsync());
        Assert.Equal("0", r.TrailingHeaders.GetValues("grpc-status").Single());
        Assert.Equal("42", r.TrailingHeaders.GetValues("x-checksum").Single());
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestTrailers_ForwardedInTheChunkedBody()
    {
        string file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "payload");
        try
        {
            // No content-length: the body goes to the origin chunked, which is how HTTP/1.1 carries trailers.
            ToolResult r = await ExternalTool.RunAsync("nghttp", ["-n", "--no-content-length", "-d", file, "--trailer", "x-trailer: t1",
                    _gateway.Url("/echo-trailers").ToString()],
                TimeSpan.FromSeconds(20));
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        finally
        {
            File.Delete(file);
        }
        OriginRequest seen = _origin.Requests.Last(q => q.PathAndQuery == "/echo-trailers");
        Assert.Equal(7, seen.BodyBytes);
        Assert.Equal("t1", seen.Trailers["x-trailer"]);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SlowBody_PastRouteTimeout_ResponseCutAtTheDeadline(bool http2)
    {
        // The head arrives at once; the body would take ~10 s. The 500 ms route timeout bounds the whole response (as in
        // Envoy): the client gets the head and some of the body, then a reset stream (HTTP/2) or a closed connection
        // before the last chunk (HTTP/1.1), never a body that looks whole.
        using HttpClient client = http2 ? H2cClient() : new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using HttpResponseMessage r = await client.GetAsync(_gateway.Url("/slow"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(async () => await r.Content.ReadAsByteArrayAsync());
        Assert.True(sw.ElapsedMilliseconds < 5000, $"took {sw.ElapsedMilliseconds} ms");
    }

    [Fact(Timeout = 60_000)]
    public async Task LocalReplies_OverHttp2_StatusFieldsAndBody()
    {
        using HttpClient client = H2cClient();
        using HttpResponseMessage down = await client.GetAsync(_gateway.Url("/down"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("upstream connect error\n", await down.Content.ReadAsStringAsync());

        using HttpResponseMessage redirect = await new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false })
        {
            DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        }.GetAsync(_gateway.Url("/redirect"));
        Assert.Equal((HttpStatusCode)308, redirect.StatusCode);
        Assert.EndsWith("/moved", redirect.Headers.Location!.ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task GrpcRequest_UpstreamDown_TrailersOnlyUnavailable()
    {
        using HttpClient client = H2cClient();
        var request = new HttpRequestMessage(HttpMethod.Post, _gateway.Url("/down"))
        {
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using HttpResponseMessage r = await client.SendAsync(request);
        // Trailers-only (gRPC PROTOCOL-HTTP2): HTTP 200, the status in the headers, no body; 14 = UNAVAILABLE.
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("application/grpc", r.Content.Headers.ContentType!.MediaType);
        Assert.Equal("14", r.Headers.GetValues("grpc-status").Single());
        Assert.Equal("upstream connect error", r.Headers.GetValues("grpc-message").Single());
        Assert.Empty(await r.Content.ReadAsByteArrayAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task H2load_ManyStreamsOnFewConnections_AllSucceed()
    {
        ToolResult r = await ExternalTool.RunAsync("h2load", ["-n", "4000", "-c", "4", "-m", "50", _gateway.Url("/small").ToString()], TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("4000 succeeded, 0 failed, 0 errored", r.Stdout);
        Assert.Contains("status codes: 4000 2xx", r.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task AccessLog_OneLinePerStream()
    {
        using HttpClient client = H2cClient();
        using HttpResponseMessage r = await client.GetAsync(_gateway.Url("/logged-h2"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var line = await _gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/logged-h2");
        Assert.Equal(200, line.GetProperty("status").GetInt32());
        Assert.Equal("main", line.GetProperty("upstream_cluster").GetString());
        Assert.False(line.TryGetProperty("grpc_status", out _)); // only gRPC calls have one
    }

    [Fact(Timeout = 60_000)]
    public async Task ClientRequestId_KeptAndForwardedOnce()
    {
        using HttpClient client = H2cClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, _gateway.Url("/h2-request-id"));
        request.Headers.Add("x-request-id", "h2-client-id-1");
        using HttpResponseMessage r = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("h2-client-id-1", _origin.Requests.Last(q => q.PathAndQuery == "/h2-request-id").Header("x-request-id"));
        var line = await _gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/h2-request-id");
        Assert.Equal("h2-client-id-1", line.GetProperty("request_id").GetString());
    }
}

public sealed class Http2AllocationTests
{
    [Fact(Timeout = 120_000)]
    public async Task KeepAliveStreams_AllocateNothingPerStream()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        await AssertNothingPerStreamAsync(gateway, gateway.Url("/plain").ToString(), streams: 4);
    }

    [Fact(Timeout = 120_000)]
    public async Task StreamsToHttp2Origin_ManyInFlight_AllocateNothingPerStream()
    {
        // The gRPC path: HTTP/2 on both sides. A hundred streams in flight on one upstream connection used to
        // allocate ~5 KB each (a stream pool of 16, body blocks past ArrayPool's per-core cache, a state machine per
        // response-head wait).
        await using OriginServer origin = await OriginServer.StartAsync("h2", http2: true);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/", "main").Cluster("main", [origin.Address], "protocol: http2"));
        await AssertNothingPerStreamAsync(gateway, gateway.Url("/plain").ToString(), streams: 100);
    }

    [Fact(Timeout = 120_000)]
    public async Task PostsToHttp2Origin_NoBufferPerStream()
    {
        // A gRPC call always has a body. Its upload to an HTTP/2 origin used a fresh 16 KB buffer per stream; the
        // exchange keeps one now. What is left (~90 B) is the upload's own task, as for an HTTP/1.1 origin.
        await using OriginServer origin = await OriginServer.StartAsync("h2", http2: true);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/", "main").Cluster("main", [origin.Address], "protocol: http2"));
        string body = Path.GetTempFileName();
        await File.WriteAllBytesAsync(body, new byte[64]);
        try
        {
            await AssertNothingPerStreamAsync(gateway, gateway.Url("/plain").ToString(), streams: 10, bound: 1024, body);
        }
        finally
        {
            File.Delete(body);
        }
    }

    private static async Task AssertNothingPerStreamAsync(GatewayProcess gateway, string url, int streams, double bound = 16, string? body = null)
    {
        await H2LoadAsync(url, 3000, streams, body); // warm: JIT, pools
        // Two runs of different length on one connection each: the difference is what the extra streams cost, with
        // each connection's own setup (engine, stream pool, processors) cancelled out.
        double a0 = await gateway.AllocatedBytesAsync();
        await H2LoadAsync(url, 1000, streams, body);
        double a1 = await gateway.AllocatedBytesAsync();
        await H2LoadAsync(url, 11000, streams, body);
        double a2 = await gateway.AllocatedBytesAsync();
        double perStream = ((a2 - a1) - (a1 - a0)) / 10_000;
        Assert.True(perStream < bound, $"{perStream:F1} B/stream, bound {bound} (short run {a1 - a0} B, long run {a2 - a1} B)");
    }

    private static async Task H2LoadAsync(string url, int requests, int streams, string? body)
    {
        string[] data = body is null ? [] : ["-d", body];
        ToolResult r = await ExternalTool.RunAsync("h2load",
            ["-n", requests.ToString(CultureInfo.InvariantCulture), "-c", "1", "-m", streams.ToString(CultureInfo.InvariantCulture), .. data, url],
            TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0 && r.Stdout.Contains($"{requests} succeeded"), r.ToString());
    }
}
