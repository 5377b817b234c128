// Bodies that fail on the client's side (the client goes away, stalls, or breaks the chunked framing): the gateway
// must end the upstream exchange too (the origin sees the abort), log it, and keep serving others.
using System.Diagnostics;
using System.Text.Json;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class RequestBodyFailureTests
{
    private static async Task WaitForAsync(Func<bool> condition, TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        while (!condition() && sw.Elapsed < limit) await Task.Delay(50);
    }

    [Fact(Timeout = 60_000)]
    public async Task ClientClosesMidDownload_OriginRequestEnds_GatewayServesNext()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address),
            accessLog: true);

        await using (RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port))
        {
            await client.SendAsync(RawHttpConnection.Get($"/download?bytes={1L << 30}"));
            byte[] some = new byte[1 << 20];
            int total = 0;
            while (total < some.Length) total += await client.Socket.ReceiveAsync(some.AsMemory(total), System.Net.Sockets.SocketFlags.None);
        }

        await WaitForAsync(() => origin.InFlight == 0, TimeSpan.FromSeconds(10));
        Assert.Equal(0, origin.InFlight);
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString()!.StartsWith("/download", StringComparison.Ordinal));
        Assert.Equal("DC", log.GetProperty("response_flags").GetString());
        Assert.Equal(200, (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/next"))).Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task ClientClosesMidUpload_OriginRequestEnds_GatewayServesNext()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address),
            accessLog: true);

        await using (RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port))
        {
            await client.SendAsync("POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000000\r\n\r\n");
            await client.SendAsync(new byte[1 << 20]);
            await WaitForAsync(() => origin.InFlight == 1, TimeSpan.FromSeconds(5));
            Assert.Equal(1, origin.InFlight);
        }

        await WaitForAsync(() => origin.InFlight == 0, TimeSpan.FromSeconds(10));
        Assert.Equal(0, origin.InFlight);
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/count");
        Assert.Equal("DC", log.GetProperty("response_flags").GetString());
        Assert.Equal(200, (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/next"))).Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task ClientClosesMidUploadWhileResponseStreams_OriginRequestEnds()
    {
        // The origin answers while it reads (an echo): the response is under way when the client goes, so the
        // exchange waits on the origin, which waits for a body that will never come, unless the failed upload ends it.
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address),
            accessLog: true);

        await using (RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port))
        {
            await client.SendAsync("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000000\r\n\r\n");
            await client.SendAsync(new byte[1 << 20]);
            await WaitForAsync(() => origin.InFlight == 1, TimeSpan.FromSeconds(5));
            Assert.Equal(1, origin.InFlight);
        }

        await WaitForAsync(() => origin.InFlight == 0, TimeSpan.FromSeconds(10));
        Assert.Equal(0, origin.InFlight);
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/echo");
        Assert.Contains("DC", log.GetProperty("response_flags").GetString());
        Assert.Equal(200, (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/next"))).Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task ClientClosesWhileOriginIsSlow_GatewayStaysHealthy()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));

        for (int i = 0; i < 20; i++)
        {
            await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
            await client.SendAsync(RawHttpConnection.Get("/delay?ms=1500"));
        }

        Assert.Equal(200, (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/next"))).Status);
        await WaitForAsync(() => origin.InFlight == 0, TimeSpan.FromSeconds(10));
        // Each abandoned connection closes once its (late) response fails to reach the client.
        string stats = "";
        for (var sw = Stopwatch.StartNew(); sw.Elapsed < TimeSpan.FromSeconds(5); await Task.Delay(100))
        {
            (_, stats) = await gateway.AdminGetAsync("/stats/prometheus");
            if (System.Text.RegularExpressions.Regex.IsMatch(stats, @"(?m)^fastpath_downstream_connections_active 0$")) break;
        }
        Assert.Matches(@"(?m)^fastpath_downstream_connections_active 0$", stats);
    }

    [Fact(Timeout = 60_000)]
    public async Task ClientStallsMidUpload_StreamIdleTimeoutEndsExchangeOnBothSides()
    {
        // The upload's idle timeout (1 s) must end the exchange, not just the body copy: the origin request and the
        // upstream connection should not be held until the (longer) route timeout.
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Limit("stream_idle_timeout", "1s")
            .Route("/", "main", timeout: "15s").Cluster("main", origin.Address), accessLog: true);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        client.Timeout = TimeSpan.FromSeconds(10);

        var sw = Stopwatch.StartNew();
        await client.SendAsync("POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n");
        await client.SendAsync(new byte[1000]); // then nothing more
        Task<bool> closed = client.IsClosedByPeerAsync(TimeSpan.FromSeconds(10));
        await WaitForAsync(() => origin.RequestCount == 1 && origin.InFlight == 0, TimeSpan.FromSeconds(10));

        Assert.True(origin.InFlight == 0, $"origin request still open {sw.Elapsed.TotalSeconds:0.0}s after the client stalled (stream_idle_timeout 1s)");
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(4));
        await closed;
    }

    [Fact(Timeout = 60_000)]
    public async Task InvalidChunkInUpload_400Promptly_ConnectionClosed()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main", timeout: "15s")
            .Cluster("main", origin.Address), accessLog: true);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        client.Timeout = TimeSpan.FromSeconds(10);

        var sw = Stopwatch.StartNew();
        await client.SendAsync("POST /count HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
        RawResponse r = await client.ReadResponseAsync();

        Assert.True(r.Status == 400, $"a broken chunked body should be answered 400 at once, got after {sw.Elapsed.TotalSeconds:0.0}s:\n{r}");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"took {sw.Elapsed.TotalSeconds:0.0}s");
        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(3)));
        await WaitForAsync(() => origin.InFlight == 0, TimeSpan.FromSeconds(3));
        Assert.Equal(0, origin.InFlight);
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestTimeout_SteadyButSlowUpload_408AtTheBound_OriginRequestEnds()
    {
        // Every byte arrives well within stream_idle_timeout, but the whole request takes longer than
        // request_timeout: the bound is on the request, not on each read (Envoy's request_timeout).
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", origin.Address).Limit("request_timeout", "1s").Limit("stream_idle_timeout", "10s"), accessLog: true);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        client.Timeout = TimeSpan.FromSeconds(10);

        var sw = Stopwatch.StartNew();
        await client.SendAsync("POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n");
        Task<RawResponse> response = client.ReadResponseAsync();
        for (int i = 0; i < 40 && !response.IsCompleted; i++)
        {
            try { await client.SendAsync(new byte[100]); } catch (IOException) { break; } catch (System.Net.Sockets.SocketException) { break; }
            await Task.Delay(100);
        }
        RawResponse r = await response;

        Assert.Equal(408, r.Status);
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.9, 3.5);
        await WaitForAsync(() => origin.InFlight == 0, TimeSpan.FromSeconds(5));
        Assert.Equal(0, origin.InFlight);
        Assert.Equal(200, (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/next"))).Status);
    }
}
