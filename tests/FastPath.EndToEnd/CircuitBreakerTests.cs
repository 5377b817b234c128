// Cluster circuit breakers and the retry budget with requests really in flight: past max_requests, a cluster-wide
// max_connections or max_pending_requests the gateway answers 503 UO at once; past the retry budget a failure goes
// back as it is instead of being retried. Slow origins keep requests in flight long enough (generous margins).
using System.Diagnostics;
using System.Text.Json;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class CircuitBreakerFixture : IAsyncLifetime
{
    public ScriptedOrigin A { get; private set; } = null!;
    public ScriptedOrigin B { get; private set; } = null!;
    /// <summary>Tries seen by A and B together.</summary>
    public TryLog Log { get; } = new();
    public ScriptedOrigin Slow503 { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // A path ending in /slow is answered after 2.5 s, anything else at once.
        static Reply Script(SeenTry t) => t.Path.EndsWith("/slow", StringComparison.Ordinal) ? new Reply(200, DelayMs: 2500) : new Reply(200);
        A = new ScriptedOrigin(Script, Log);
        B = new ScriptedOrigin(Script, Log);
        // Every try stalls 1.5 s, then fails with 503: retries of concurrent requests overlap.
        Slow503 = new ScriptedOrigin(_ => new Reply(503, DelayMs: 1500));
        const string retry = "retries: {attempts: 1, retry_on: 5xx, backoff: {base_interval: 1ms, max_interval: 2ms}}";
        var yaml = new GatewayYaml()
            .Route("/requests/", "requests")
            .Route("/connections/", "connections")
            .Route("/pending/", "pending")
            .Route("/budget/", "budget", "30s", retry)
            .Cluster("requests", [A.Address], "circuit_breakers: {max_requests: 2}")
            .Cluster("connections", [A.Address, B.Address], "circuit_breakers: {max_connections: 1}")
            .Cluster("pending", [A.Address], "max_connections_per_endpoint: 1", "connect_timeout: 5s", "circuit_breakers: {max_pending_requests: 0}")
            .Cluster("budget", [Slow503.Address], "retry_budget: {budget_percent: 0, min_retry_concurrency: 1}");
        Gateway = await GatewayProcess.StartAsync(yaml, accessLog: true, lifetime: TimeSpan.FromMinutes(5));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Slow503.DisposeAsync();
        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}

public sealed class CircuitBreakerTests(CircuitBreakerFixture fixture) : IClassFixture<CircuitBreakerFixture>
{
    private readonly GatewayProcess _gateway = fixture.Gateway;

    private Task<RawResponse> SendAsync(string path) =>
        RawHttpConnection.SendOnceAsync(_gateway.Port, RawHttpConnection.Get(path), TimeSpan.FromSeconds(30));

    private async Task<(RawResponse Response, TimeSpan Elapsed)> TimedAsync(string path)
    {
        var sw = Stopwatch.StartNew();
        RawResponse r = await SendAsync(path);
        return (r, sw.Elapsed);
    }

    private async Task AssertOverflowAsync(RawResponse r, TimeSpan elapsed, string path)
    {
        Assert.Equal(503, r.Status);
        Assert.Equal("upstream connection pool overflow\n", r.BodyText);
        Assert.True(elapsed < TimeSpan.FromMilliseconds(1200), $"overflow answered after {elapsed.TotalMilliseconds:0} ms; it must not wait");
        JsonElement line = await _gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == path);
        Assert.Equal("UO", line.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task MaxRequests_TwoInFlight_Third503UO_ThenServedAgain()
    {
        string id1 = Guid.NewGuid().ToString("N"), id2 = Guid.NewGuid().ToString("N");
        Task<RawResponse> first = SendAsync($"/requests/slow?id={id1}");
        Task<RawResponse> second = SendAsync($"/requests/slow?id={id2}");
        await WaitUntilAsync(() => fixture.Log.Count(id1) + fixture.Log.Count(id2) >= 2);
        (_, string clusters) = await _gateway.AdminGetAsync("/clusters");
        using (JsonDocument doc = JsonDocument.Parse(clusters))
        {
            JsonElement requests = doc.RootElement.GetProperty("clusters").EnumerateArray()
                .Single(c => c.GetProperty("name").GetString() == "requests").GetProperty("circuit_breakers").GetProperty("requests");
            Assert.Equal(2, requests.GetProperty("active").GetInt32());
            Assert.Equal(2, requests.GetProperty("max").GetInt32());
        }

        string path = $"/requests/x?id={Guid.NewGuid():N}";
        (RawResponse third, TimeSpan elapsed) = await TimedAsync(path);
        await AssertOverflowAsync(third, elapsed, path);

        Assert.Equal(200, (await first).Status);
        Assert.Equal(200, (await second).Status);
        // Both slots were given back.
        Assert.Equal(200, (await SendAsync("/requests/x")).Status);
        Assert.True(await StatAsync("fastpath_circuit_breaker_overflow_total", "requests", "requests") >= 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task MaxConnections_ClusterWide_SecondEndpointCannotOpen_503UO()
    {
        // Round robin: the first request goes to A and holds the cluster's only connection; the next goes to B,
        // which has none open and may not open one.
        string id = Guid.NewGuid().ToString("N");
        Task<RawResponse> holder = SendAsync($"/connections/slow?id={id}");
        await WaitUntilAsync(() => fixture.Log.Count(id) >= 1);

        string path = $"/connections/x?id={Guid.NewGuid():N}";
        (RawResponse r, TimeSpan elapsed) = await TimedAsync(path);
        await AssertOverflowAsync(r, elapsed, path);
        Assert.Equal(200, (await holder).Status);
        Assert.True(await StatAsync("fastpath_circuit_breaker_overflow_total", "connections", "connections") >= 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task MaxPendingZero_PoolFull_NoQueue_503UO()
    {
        string id = Guid.NewGuid().ToString("N");
        Task<RawResponse> holder = SendAsync($"/pending/slow?id={id}");
        await WaitUntilAsync(() => fixture.Log.Count(id) >= 1);

        string path = $"/pending/x?id={Guid.NewGuid():N}";
        (RawResponse r, TimeSpan elapsed) = await TimedAsync(path);
        await AssertOverflowAsync(r, elapsed, path);
        Assert.Equal(200, (await holder).Status);
        Assert.True(await StatAsync("fastpath_circuit_breaker_overflow_total", "pending", "pending_requests") >= 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task RetryBudget_ConcurrentFailures_OnlyOneRetryAtATime()
    {
        // Four requests fail together; the budget (0% of requests, at least 1) lets one retry run, the others
        // get their 503 back as it is.
        string[] ids = [.. Enumerable.Range(0, 4).Select(_ => Guid.NewGuid().ToString("N"))];
        RawResponse[] responses = await Task.WhenAll(ids.Select(id => SendAsync($"/budget/x?id={id}")));

        Assert.All(responses, r => Assert.Equal(503, r.Status));
        int tries = ids.Sum(fixture.Slow503.Log.Count);
        Assert.InRange(tries, 5, 7);
        Assert.True(await StatAsync("fastpath_upstream_rq_retry_overflow_total", "budget") >= 1);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "requests never reached the origin");
            await Task.Delay(20);
        }
    }

    private async Task<double> StatAsync(string metric, string cluster, string? resource = null)
    {
        (_, string text) = await _gateway.AdminGetAsync("/stats/prometheus");
        foreach (string line in text.Split('\n'))
        {
            if (!line.StartsWith(metric + "{", StringComparison.Ordinal) || !line.Contains($"cluster=\"{cluster}\"", StringComparison.Ordinal)) continue;
            if (resource is not null && !line.Contains($"resource=\"{resource}\"", StringComparison.Ordinal)) continue;
            return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return 0;
    }
}
