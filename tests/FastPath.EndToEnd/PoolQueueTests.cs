// A full per-endpoint pool queues requests for a released connection (Envoy's pending requests) instead of
// failing them, up to max_pending_requests and connect_timeout; beyond that, 503 with flag UO.
using System.Diagnostics;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class PoolQueueTests
{
    [Fact(Timeout = 60_000)]
    public async Task PoolOfOne_FiveConcurrentRequests_AllServedInTurn_OverOneConnection()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [origin.Address], "max_connections_per_endpoint: 1", "connect_timeout: 5s"));

        var sw = Stopwatch.StartNew();
        RawResponse[] responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ =>
            RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/delay?ms=300"), TimeSpan.FromSeconds(20))));

        Assert.All(responses, r => Assert.Equal(200, r.Status));
        Assert.Equal(1, origin.ConnectionCount);
        Assert.Equal(5, origin.RequestCount);
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(1400), $"five 300 ms requests over one connection took {sw.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact(Timeout = 60_000)]
    public async Task PendingLimitReached_Overflow503UO_OthersServed()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [origin.Address], "max_connections_per_endpoint: 1", "max_pending_requests: 1", "connect_timeout: 5s"),
            accessLog: true);

        // One request holds the only connection, one waits; the others find the queue full.
        Task<RawResponse> first = RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/delay?ms=1500"), TimeSpan.FromSeconds(20));
        await Task.Delay(300);
        Task<RawResponse> second = RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/delay?ms=10"), TimeSpan.FromSeconds(20));
        await Task.Delay(300);
        RawResponse third = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/delay?ms=10"), TimeSpan.FromSeconds(20));

        Assert.Equal(503, third.Status);
        Assert.Equal(200, (await first).Status);
        Assert.Equal(200, (await second).Status);
        System.Text.Json.JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("status").GetInt32() == 503);
        Assert.Equal("UO", log.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitLongerThanConnectTimeout_503UO()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [origin.Address], "max_connections_per_endpoint: 1", "connect_timeout: 500ms"));

        Task<RawResponse> holder = RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/delay?ms=3000"), TimeSpan.FromSeconds(20));
        await Task.Delay(300);
        var sw = Stopwatch.StartNew();
        RawResponse waited = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/delay?ms=10"), TimeSpan.FromSeconds(20));

        Assert.Equal(503, waited.Status);
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.4, 2.5);
        Assert.Equal(200, (await holder).Status);
    }
}
