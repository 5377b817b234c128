// The limits block: idle and header-read timeouts close client connections (408 for a slow head), max_connections
// caps accepted connections, and a cluster's idle_timeout prunes pooled upstream connections.
using System.Diagnostics;
using System.Text.Json;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class LimitsTests
{
    [Fact(Timeout = 60_000)]
    public async Task IdleTimeout_IdleClientConnectionClosed()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Limit("idle_timeout", "1s")
            .Route("/", "main").Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get("/once"))).Status);

        var sw = Stopwatch.StartNew();
        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)), "idle connection not closed");
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(3));
    }

    [Fact(Timeout = 60_000)]
    public async Task HeaderReadTimeout_PartialHead_408ThenClosed_OriginUntouched()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Limit("header_read_timeout", "1s")
            .Route("/", "main").Cluster("main", origin.Address), accessLog: true);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        var sw = Stopwatch.StartNew();
        await client.SendAsync("GET /slowloris HTTP/1.1\r\nHost: localhost\r\nX-Partial: "); // never finished
        RawResponse r = await client.ReadResponseAsync();

        Assert.Equal(408, r.Status);
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(3));
        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(3)));
        Assert.Equal(0, origin.RequestCount);
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("status").GetInt32() == 408);
        Assert.Equal("DT", log.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task MaxConnections_ExtraConnectionClosed_FreedSlotReused()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Limit("max_connections", "2")
            .Route("/", "main").Cluster("main", origin.Address));
        RawHttpConnection first = await RawHttpConnection.ConnectAsync(gateway.Port);
        await using RawHttpConnection second = await RawHttpConnection.ConnectAsync(gateway.Port);
        Assert.Equal(200, (await first.RoundTripAsync(RawHttpConnection.Get("/1"))).Status);
        Assert.Equal(200, (await second.RoundTripAsync(RawHttpConnection.Get("/2"))).Status);

        bool thirdClosed;
        try
        {
            await using RawHttpConnection third = await RawHttpConnection.ConnectAsync(gateway.Port);
            await third.SendAsync(RawHttpConnection.Get("/3"));
            thirdClosed = await third.IsClosedByPeerAsync(TimeSpan.FromSeconds(3));
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset)
        {
            thirdClosed = true; // accepted by the kernel, aborted by the gateway before the handshake was seen complete
        }
        Assert.True(thirdClosed, "a third connection was served over max_connections: 2");

        await first.DisposeAsync();
        RawResponse? again = null;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(3))
        {
            // The slot frees once the gateway has seen the close; retry briefly.
            try
            {
                again = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/4"), TimeSpan.FromSeconds(2));
                break;
            }
            catch (Exception e) when (e is EndOfStreamException or IOException or TimeoutException or System.Net.Sockets.SocketException)
            {
                await Task.Delay(100);
            }
        }
        Assert.Equal(200, again?.Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task ClusterIdleTimeout_PooledUpstreamConnectionPruned()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/", "main").Cluster("main", [origin.Address], "idle_timeout: 2s"));
        Assert.Equal(200, (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/warm"))).Status);

        async Task<JsonElement> EndpointAsync()
        {
            (_, string body) = await gateway.AdminGetAsync("/clusters");
            using JsonDocument doc = JsonDocument.Parse(body);
            return doc.RootElement.GetProperty("clusters")[0].GetProperty("endpoints")[0].Clone();
        }
        // The connection goes back to the pool as the response leaves; the client may read it a moment before.
        var pooled = Stopwatch.StartNew();
        while ((await EndpointAsync()).GetProperty("connections_idle").GetInt32() == 0 && pooled.Elapsed < TimeSpan.FromSeconds(1)) await Task.Delay(10);
        Assert.Equal(1, (await EndpointAsync()).GetProperty("connections_idle").GetInt32());

        var sw = Stopwatch.StartNew();
        while ((await EndpointAsync()).GetProperty("connections_open").GetInt32() > 0 && sw.Elapsed < TimeSpan.FromSeconds(6)) await Task.Delay(100);

        JsonElement endpoint = await EndpointAsync();
        Assert.Equal(0, endpoint.GetProperty("connections_open").GetInt32());
        Assert.Equal(0, endpoint.GetProperty("connections_idle").GetInt32());
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));
    }
}
