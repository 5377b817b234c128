// Requests a proxy must refuse (RFC 9112 request smuggling and size defences) get the right status, the connection
// is closed after the answer, and the origin never sees them.
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class MalformedRequestFixture : IAsyncLifetime
{
    public OriginServer Origin { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await OriginServer.StartAsync("a");
        Gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Limit("max_request_line_bytes", "8192")
            .Limit("max_header_bytes", "61440")
            .Limit("max_headers", "100")
            .Route("/", "main").Cluster("main", Origin.Address), lifetime: TimeSpan.FromMinutes(5));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

public sealed class MalformedRequestTests(MalformedRequestFixture fixture) : IClassFixture<MalformedRequestFixture>
{
    public static TheoryData<string, string, int> Cases => new()
    {
        // RFC 9112 §6.1: Content-Length with Transfer-Encoding is the classic smuggling vector.
        { "CL+TE", "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
        { "TE+CL", "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400 },
        // RFC 9112 §5.2: obs-fold is rejected, never unfolded.
        { "obs-fold", "GET / HTTP/1.1\r\nHost: localhost\r\nX-Folded: first\r\n second\r\n\r\n", 400 },
        // RFC 9112 §5.1: whitespace between field name and colon MUST be rejected by a proxy.
        { "space-before-colon", "GET / HTTP/1.1\r\nHost : localhost\r\n\r\n", 400 },
        { "space-before-colon-other-field", "GET / HTTP/1.1\r\nHost: localhost\r\nX-A : b\r\n\r\n", 400 },
        { "conflicting-content-length", "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400 },
        { "missing-host", "GET / HTTP/1.1\r\n\r\n", 400 },
        { "bare-lf", "GET / HTTP/1.1\nHost: localhost\n\n", 400 },
        { "request-line-9KiB", $"GET /{new string('a', 9 * 1024)} HTTP/1.1\r\nHost: localhost\r\n\r\n", 414 },
        { "headers-70KiB", "GET / HTTP/1.1\r\nHost: localhost\r\n" +
                           string.Concat(Enumerable.Range(0, 35).Select(i => $"X-Big-{i}: {new string('b', 2048)}\r\n")) + "\r\n", 431 },
        { "101-headers", "GET / HTTP/1.1\r\nHost: localhost\r\n" + string.Concat(Enumerable.Range(0, 101).Select(i => $"X-H-{i}: v\r\n")) + "\r\n", 431 },
        { "header-70KiB-single", $"GET / HTTP/1.1\r\nHost: localhost\r\nX-Huge: {new string('h', 70 * 1024)}\r\n\r\n", 431 },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(Cases))]
    public async Task Malformed_RejectedWithStatus_ConnectionClosed_OriginUntouched(string name, string request, int status)
    {
        int originRequests = fixture.Origin.RequestCount;
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(fixture.Gateway.Port);
        client.Timeout = TimeSpan.FromSeconds(10);

        await client.SendAsync(request);
        RawResponse r = await client.ReadResponseAsync();

        Assert.True(status == r.Status, $"{name}: expected {status}, got:\n{r}");
        Assert.True(r.ConnectionClose, $"{name}: the rejection should announce connection: close\n{r}");
        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)), $"{name}: the gateway kept the connection open after rejecting it");
        Assert.Equal(originRequests, fixture.Origin.RequestCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task ValidRequest_AfterRejections_StillServed()
    {
        RawResponse r = await RawHttpConnection.SendOnceAsync(fixture.Gateway.Port, RawHttpConnection.Get("/fine"));
        Assert.Equal(200, r.Status);
        Assert.Equal("origin=a GET /fine\n", r.BodyText);
    }
}
