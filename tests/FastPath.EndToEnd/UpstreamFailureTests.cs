// Upstream failures become local replies with Envoy's status and response flag, logged in the JSON access log:
// connect refused 503 UF, reset or close before the response head 502 UC, route timeout 504 UT, no route 404 NR.
// Every client read has a deadline, so a hang is a failure, never a stuck suite.
using System.Diagnostics;
using System.Text.Json;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class UpstreamFailureFixture : IAsyncLifetime
{
    public OriginServer Origin { get; private set; } = null!;
    public RawOrigin ResetOrigin { get; private set; } = null!;
    public RawOrigin CloseOrigin { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await OriginServer.StartAsync("a");
        // Reads the request, then resets (RST) or closes (FIN) without a byte of response.
        ResetOrigin = new RawOrigin(async c =>
        {
            await c.ReadHeadAsync();
            c.Reset();
        });
        CloseOrigin = new RawOrigin(async c =>
        {
            await c.ReadHeadAsync();
            c.Close();
        });
        var yaml = new GatewayYaml()
            .Route("/refused", "refused")
            .Route("/reset", "reset")
            .Route("/closed", "closed")
            .Route("/abort", "origin")
            .Route("/delay", "origin", timeout: "1s")
            .Route("/ok", "origin")
            .Cluster("refused", [$"127.0.0.1:{Ports.GetClosed()}"], "connect_timeout: 2s")
            .Cluster("reset", ResetOrigin.Address)
            .Cluster("closed", CloseOrigin.Address)
            .Cluster("origin", Origin.Address);
        Gateway = await GatewayProcess.StartAsync(yaml, accessLog: true, lifetime: TimeSpan.FromMinutes(5));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await ResetOrigin.DisposeAsync();
        await CloseOrigin.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

public sealed class UpstreamFailureTests(UpstreamFailureFixture fixture) : IClassFixture<UpstreamFailureFixture>
{
    private readonly GatewayProcess _gateway = fixture.Gateway;

    private async Task<(RawResponse Response, JsonElement Log, TimeSpan Elapsed)> RequestAsync(string prefix)
    {
        // A unique query marks this request's access-log line; the path itself is exactly the route prefix.
        string path = $"{prefix}?id={Guid.NewGuid():N}";
        var sw = Stopwatch.StartNew();
        RawResponse r = await RawHttpConnection.SendOnceAsync(_gateway.Port, RawHttpConnection.Get(path), TimeSpan.FromSeconds(10));
        TimeSpan elapsed = sw.Elapsed;
        JsonElement log = await _gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == path);
        return (r, log, elapsed);
    }

    private static void AssertLocalReply(RawResponse r, JsonElement log, int status, string flag, string body)
    {
        Assert.Equal(status, r.Status);
        Assert.Equal(body, r.BodyText);
        Assert.StartsWith("text/plain", r.Header("content-type"));
        Assert.Equal(status, log.GetProperty("status").GetInt32());
        Assert.Equal(flag, log.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 30_000)]
    public async Task NothingListening_503_UF()
    {
        (RawResponse r, JsonElement log, _) = await RequestAsync("/refused");
        AssertLocalReply(r, log, 503, "UF", "upstream connect error\n");
        Assert.Equal("refused", log.GetProperty("upstream_cluster").GetString());
    }

    [Fact(Timeout = 30_000)]
    public async Task OriginResetsBeforeHead_502_UC()
    {
        (RawResponse r, JsonElement log, _) = await RequestAsync("/reset");
        AssertLocalReply(r, log, 502, "UC", "upstream connection reset before response\n");
    }

    [Fact(Timeout = 30_000)]
    public async Task OriginClosesBeforeHead_502_UC()
    {
        (RawResponse r, JsonElement log, _) = await RequestAsync("/closed");
        AssertLocalReply(r, log, 502, "UC", "upstream connection reset before response\n");
    }

    [Fact(Timeout = 30_000)]
    public async Task KestrelOriginAborts_502_UC()
    {
        (RawResponse r, JsonElement log, _) = await RequestAsync("/abort");
        AssertLocalReply(r, log, 502, "UC", "upstream connection reset before response\n");
    }

    [Fact(Timeout = 30_000)]
    public async Task RouteTimeout1s_OriginDelays5s_504_UT_WithinBound()
    {
        string path = "/delay?ms=5000&id=" + Guid.NewGuid().ToString("N");
        var sw = Stopwatch.StartNew();
        RawResponse r = await RawHttpConnection.SendOnceAsync(_gateway.Port, RawHttpConnection.Get(path), TimeSpan.FromSeconds(10));
        TimeSpan elapsed = sw.Elapsed;
        JsonElement log = await _gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == path);

        AssertLocalReply(r, log, 504, "UT", "upstream request timeout\n");
        Assert.InRange(elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(3));
    }

    [Fact(Timeout = 30_000)]
    public async Task NoRouteMatches_404_NR()
    {
        (RawResponse r, JsonElement log, _) = await RequestAsync("/nowhere");
        AssertLocalReply(r, log, 404, "NR", "no route\n");
        Assert.Equal(JsonValueKind.Null, log.GetProperty("upstream_cluster").ValueKind);
    }

    [Fact(Timeout = 30_000)]
    public async Task HealthyRoute_200_NoFlag()
    {
        (RawResponse r, JsonElement log, _) = await RequestAsync("/ok");
        Assert.Equal(200, r.Status);
        Assert.Equal("-", log.GetProperty("response_flags").GetString());
        Assert.Equal(fixture.Origin.Address, log.GetProperty("upstream_host").GetString());
    }

    [Fact(Timeout = 30_000)]
    public async Task AfterFailures_ClientConnectionStillServesRequests()
    {
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(_gateway.Port);
        foreach ((string path, int status) in new[] { ("/refused/x", 503), ("/reset/x", 502), ("/nowhere", 404), ("/ok/x", 200) })
        {
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get(path));
            Assert.Equal(status, r.Status);
            Assert.False(r.ConnectionClose, $"{path}: a bodiless request's local reply need not close the connection\n{r}");
        }
    }
}
