// What the origin learns about the client: x-forwarded-for / -proto set by the gateway, x-request-id generated or
// preserved, and hop-by-hop fields (RFC 9110 §7.6.1), including those named by Connection, never forwarded.
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class ForwardingFixture : IAsyncLifetime
{
    public OriginServer Origin { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await OriginServer.StartAsync("a");
        Gateway = await GatewayProcess.StartAsync(new GatewayYaml().Limit("via", "fastpath-e2e").Route("/", "main").Cluster("main", Origin.Address),
            lifetime: TimeSpan.FromMinutes(5));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

public sealed class ForwardingHeaderTests(ForwardingFixture fixture) : IClassFixture<ForwardingFixture>
{
    /// <summary>Sends one request with the given extra fields; returns what the origin saw of it.</summary>
    private async Task<OriginRequest> ForwardAsync(params string[] fields)
    {
        string path = $"/headers?t={Guid.NewGuid():N}";
        RawResponse r = await RawHttpConnection.SendOnceAsync(fixture.Gateway.Port, RawHttpConnection.Get(path, fields));
        Assert.Equal(200, r.Status);
        return Assert.Single(fixture.Origin.Requests, q => q.PathAndQuery == path);
    }

    [Fact(Timeout = 30_000)]
    public async Task NoRequestId_OriginSeesClientAddressProtoAndGeneratedUuid()
    {
        OriginRequest seen = await ForwardAsync();

        Assert.Equal("127.0.0.1", seen.Header("x-forwarded-for"));
        Assert.Equal("http", seen.Header("x-forwarded-proto"));
        string? id = seen.Header("x-request-id");
        Assert.True(Guid.TryParseExact(id, "D", out _), $"x-request-id '{id}' is not a UUID");
        Assert.Equal("1.1 fastpath-e2e", seen.Header("via"));
    }

    [Fact(Timeout = 30_000)]
    public async Task NoRequestId_EachRequestGetsItsOwnId()
    {
        OriginRequest first = await ForwardAsync();
        OriginRequest second = await ForwardAsync();
        Assert.NotEqual(first.Header("x-request-id"), second.Header("x-request-id"));
    }

    [Fact(Timeout = 30_000)]
    public async Task RequestIdPresent_PreservedExactlyOnce()
    {
        OriginRequest seen = await ForwardAsync("X-Request-Id: client-id-42");
        Assert.Equal("client-id-42", seen.Header("x-request-id"));
    }

    [Fact(Timeout = 30_000)]
    public async Task ClientSuppliedForwardingFields_ProtoReplaced_ForAppended()
    {
        OriginRequest seen = await ForwardAsync("X-Forwarded-Proto: https", "X-Forwarded-For: 203.0.113.7");
        Assert.Equal("http", seen.Header("x-forwarded-proto"));
        Assert.Equal("203.0.113.7, 127.0.0.1", seen.Header("x-forwarded-for"));
    }

    [Fact(Timeout = 30_000)]
    public async Task SeveralForwardedForFields_OneListInOrder_ThenTheClient()
    {
        OriginRequest seen = await ForwardAsync("X-Forwarded-For: 203.0.113.7", "X-Forwarded-For: 192.0.2.1, 192.0.2.2");
        Assert.Equal("203.0.113.7, 192.0.2.1, 192.0.2.2, 127.0.0.1", seen.Header("x-forwarded-for"));
    }

    [Fact(Timeout = 30_000)]
    public async Task HopByHopFields_NotForwarded_EndToEndFieldsAre()
    {
        OriginRequest seen = await ForwardAsync("Connection: keep-alive, Foo", "Foo: secret-hop", "Keep-Alive: timeout=5",
            "TE: trailers", "Proxy-Connection: keep-alive", "X-End-To-End: kept");

        Assert.Null(seen.Header("foo"));
        Assert.Null(seen.Header("keep-alive"));
        Assert.Null(seen.Header("te"));
        Assert.Null(seen.Header("proxy-connection"));
        Assert.DoesNotContain("foo", seen.Header("connection") ?? "", StringComparison.OrdinalIgnoreCase);
        Assert.Equal("kept", seen.Header("x-end-to-end"));
        Assert.Equal("localhost", seen.Header("host"));
    }

    [Fact(Timeout = 30_000)]
    public async Task RequestIdOver128Bytes_ReplacedWithGeneratedUuid()
    {
        OriginRequest seen = await ForwardAsync("X-Request-Id: " + new string('r', 200));
        Assert.True(Guid.TryParseExact(seen.Header("x-request-id"), "D", out _), $"got '{seen.Header("x-request-id")}'");
    }
}
