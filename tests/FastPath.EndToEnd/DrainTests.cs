// Graceful drain: on SIGTERM (or POST /drain) the gateway stops accepting, lets requests in flight finish, closes
// idle connections, and exits 0 within drain_timeout.
using System.Diagnostics;
using System.Net;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class DrainTests
{
    private static GatewayYaml Config(OriginServer origin) => new GatewayYaml()
        .Limit("drain_timeout", "10s")
        .Route("/", "main").Cluster("main", origin.Address);

    [Fact(Timeout = 60_000)]
    public async Task Sigterm_With20SlowRequestsInFlight_AllComplete_NewConnectionsRefused_ReadyDraining_ExitsZero()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(Config(origin));

        var clients = new List<RawHttpConnection>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                RawHttpConnection c = await RawHttpConnection.ConnectAsync(gateway.Port);
                clients.Add(c);
                await c.SendAsync(RawHttpConnection.Get($"/delay?ms=3000&i={i}"));
            }
            Task<RawResponse>[] responses = [.. clients.Select(c => c.ReadResponseAsync())];
            var wait = Stopwatch.StartNew();
            while (origin.InFlight < 20 && wait.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(20);
            Assert.Equal(20, origin.InFlight);

            var sinceTerm = Stopwatch.StartNew();
            gateway.Signal(GatewayProcess.SIGTERM);

            // The listener closes at once, while the 20 requests (3 s each) are still running.
            bool refused = false;
            while (!refused && sinceTerm.Elapsed < TimeSpan.FromSeconds(1.5))
            {
                refused = await Ports.IsRefusedAsync(gateway.Port, TimeSpan.FromSeconds(1));
                if (!refused) await Task.Delay(50);
            }
            int stillRunning = origin.InFlight;
            Assert.True(refused, "the gateway still accepted connections after SIGTERM");
            Assert.True(stillRunning == 20, $"refusal should come while all 20 requests run; {stillRunning} were still running");
            // Readiness flips to 503 once the drain starts (the admin listener stays up until the process exits).
            (HttpStatusCode ready, string readyBody) = (HttpStatusCode.OK, "");
            for (var readyWait = Stopwatch.StartNew(); ready != HttpStatusCode.ServiceUnavailable && readyWait.Elapsed < TimeSpan.FromSeconds(1);)
                (ready, readyBody) = await gateway.AdminGetAsync("/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready);
            Assert.Equal("DRAINING\n", readyBody);

            RawResponse[] done = await Task.WhenAll(responses);
            Assert.All(done, r =>
            {
                Assert.Equal(200, r.Status);
                Assert.StartsWith("origin=a delayed=3000", r.BodyText);
                Assert.True(r.ConnectionClose, "a response during drain should close its connection");
            });

            int? exit = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(15));
            Assert.True(exit is not null, $"gateway still running {sinceTerm.Elapsed.TotalSeconds:0.0}s after SIGTERM\n{gateway.Stderr}");
            Assert.Equal(0, exit);
            Assert.True(sinceTerm.Elapsed < TimeSpan.FromSeconds(10), $"drain took {sinceTerm.Elapsed.TotalSeconds:0.0}s, beyond drain_timeout");
        }
        finally
        {
            foreach (RawHttpConnection c in clients) await c.DisposeAsync();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Sigterm_IdleKeepAliveConnection_ClosedAtOnce_ExitsZeroQuickly()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(Config(origin));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get("/before"))).Status);

        var sinceTerm = Stopwatch.StartNew();
        gateway.Signal(GatewayProcess.SIGTERM);

        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(3)), "the idle connection was not closed by the drain");
        int? exit = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, exit);
        Assert.True(sinceTerm.Elapsed < TimeSpan.FromSeconds(5), $"an idle gateway took {sinceTerm.Elapsed.TotalSeconds:0.0}s to drain");
    }

    [Fact(Timeout = 60_000)]
    public async Task AdminPostDrain_Answers200_ProcessExitsZero()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(Config(origin));

        (HttpStatusCode status, string body) = await gateway.AdminPostAsync("/drain");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("draining\n", body);
        int? exit = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, exit);
    }
}
