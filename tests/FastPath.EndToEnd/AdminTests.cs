// The admin listener: readiness, Prometheus stats labelled by cluster and response code, the cluster and config dumps.
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class AdminFixture : IAsyncLifetime
{
    public OriginServer Origin { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await OriginServer.StartAsync("a");
        Gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/app", "main").Cluster("main", Origin.Address),
            lifetime: TimeSpan.FromMinutes(5));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

public sealed class AdminTests(AdminFixture fixture) : IClassFixture<AdminFixture>
{
    private readonly GatewayProcess _gateway = fixture.Gateway;

    private async Task<double> CounterAsync(string pattern)
    {
        (HttpStatusCode status, string text) = await _gateway.AdminGetAsync("/stats/prometheus");
        Assert.Equal(HttpStatusCode.OK, status);
        Match m = Regex.Match(text, "(?m)^" + pattern + @" (\S+)$");
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [Fact(Timeout = 30_000)]
    public async Task Ready_Returns200()
    {
        (HttpStatusCode status, string body) = await _gateway.AdminGetAsync("/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("LIVE\n", body);
    }

    [Fact(Timeout = 30_000)]
    public async Task StatsPrometheus_AfterTraffic_RequestsTotalByClusterAndResponseCode()
    {
        const string ok = @"fastpath_requests_total\{cluster=""main"",response_code=""200"",response_code_class=""2xx""\}";
        const string noRoute = @"fastpath_requests_total\{cluster="""",response_code=""404"",response_code_class=""4xx""\}";
        double okBefore = await CounterAsync(ok);
        double noRouteBefore = await CounterAsync(noRoute);

        await using (RawHttpConnection client = await RawHttpConnection.ConnectAsync(_gateway.Port))
        {
            for (int i = 0; i < 3; i++) Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get($"/app/{i}"))).Status);
            Assert.Equal(404, (await client.RoundTripAsync(RawHttpConnection.Get("/not-routed"))).Status);
        }

        Assert.Equal(okBefore + 3, await CounterAsync(ok));
        Assert.Equal(noRouteBefore + 1, await CounterAsync(noRoute));
        Assert.True(await CounterAsync(@"fastpath_response_flags_total\{flag=""NR""\}") >= 1);
        (_, string text) = await _gateway.AdminGetAsync("/stats/prometheus");
        Assert.Contains("# TYPE fastpath_requests_total counter", text);
    }

    [Fact(Timeout = 30_000)]
    public async Task Clusters_ListsEndpointsWithHealthAndPoolCounters()
    {
        Assert.Equal(200, (await RawHttpConnection.SendOnceAsync(_gateway.Port, RawHttpConnection.Get("/app/warm"))).Status);

        (HttpStatusCode status, string body) = await _gateway.AdminGetAsync("/clusters");

        Assert.Equal(HttpStatusCode.OK, status);
        using JsonDocument doc = JsonDocument.Parse(body);
        JsonElement cluster = Assert.Single(doc.RootElement.GetProperty("clusters").EnumerateArray());
        Assert.Equal("main", cluster.GetProperty("name").GetString());
        JsonElement endpoint = Assert.Single(cluster.GetProperty("endpoints").EnumerateArray());
        Assert.Equal(fixture.Origin.Address, endpoint.GetProperty("address").GetString());
        Assert.Equal("healthy", endpoint.GetProperty("health").GetString());
        Assert.True(endpoint.GetProperty("connections_opened_total").GetInt32() >= 1);
    }

    [Fact(Timeout = 30_000)]
    public async Task ConfigDump_ShowsLiveConfig()
    {
        (HttpStatusCode status, string body) = await _gateway.AdminGetAsync("/config_dump");

        Assert.Equal(HttpStatusCode.OK, status);
        using JsonDocument doc = JsonDocument.Parse(body);
        JsonElement root = doc.RootElement;
        Assert.True(root.GetProperty("version").GetInt64() >= 1);
        Assert.Equal(_gateway.ConfigPath, root.GetProperty("source").GetString());
        JsonElement listener = Assert.Single(root.GetProperty("listeners").EnumerateArray());
        Assert.Equal(_gateway.Port, listener.GetProperty("port").GetInt32());
        JsonElement cluster = Assert.Single(root.GetProperty("clusters").EnumerateArray());
        Assert.Equal(fixture.Origin.Address, Assert.Single(cluster.GetProperty("endpoints").EnumerateArray()).GetProperty("address").GetString());
    }

    [Fact(Timeout = 30_000)]
    public async Task UnknownPath_404()
    {
        (HttpStatusCode status, _) = await _gateway.AdminGetAsync("/no-such-admin-page");
        Assert.Equal(HttpStatusCode.NotFound, status);
    }
}
