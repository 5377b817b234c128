// Endpoint weights from the YAML ({address, weight}) shape the round-robin split.
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class LoadBalancingTests
{
    [Fact(Timeout = 60_000)]
    public async Task WeightedEndpoints_3To1_SplitFollowsWeights()
    {
        await using OriginServer heavy = await OriginServer.StartAsync("heavy");
        await using OriginServer light = await OriginServer.StartAsync("light");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [$"{{address: \"{heavy.Address}\", weight: 3}}", $"{{address: \"{light.Address}\", weight: 1}}"], "lb_policy: round_robin"));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        for (int i = 0; i < 100; i++) Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get($"/w/{i}"))).Status);

        Assert.InRange(heavy.RequestCount, 70, 80);
        Assert.InRange(light.RequestCount, 20, 30);
        Assert.Equal(100, heavy.RequestCount + light.RequestCount);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("round_robin", 0.715, 0.785)]
    [InlineData("random", 0.715, 0.785)]
    // least_request scales weights by load: with the other client's request in flight the heavy endpoint's share
    // falls between 3/(1+1) : 1 (60%) and 3 : 1/(1+1) (86%); the steady state is ~68%. Counting load alone (P2C)
    // would give 50%.
    [InlineData("least_request", 0.60, 0.80)]
    public async Task WeightedPolicies_3To1_2000Requests_ShareFollowsWeights(string policy, double low, double high)
    {
        await using OriginServer heavy = await OriginServer.StartAsync("heavy");
        await using OriginServer light = await OriginServer.StartAsync("light");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [$"{{address: \"{heavy.Address}\", weight: 3}}", $"{{address: \"{light.Address}\", weight: 1}}"], $"lb_policy: {policy}"));

        // Two keep-alive clients in parallel. Random's share over 2,000 has a sigma of ~1%: +-3.5% is over 3 sigma.
        await Task.WhenAll(Enumerable.Range(0, 2).Select(async c =>
        {
            await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
            for (int i = 0; i < 1000; i++) Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get($"/p/{c}/{i}"))).Status);
        }));

        Assert.Equal(2000, heavy.RequestCount + light.RequestCount);
        Assert.InRange(heavy.RequestCount / 2000.0, low, high);
    }

    [Fact(Timeout = 60_000)]
    public async Task PeakEwma_SlowEndpoint_GetsFewRequests()
    {
        // One endpoint answers after 200 ms, the other at once: round robin would split 20/20; peak-EWMA learns the
        // latency from the first answers and steers almost everything to the fast endpoint.
        int slowRequests = 0;
        await using var slow = new RawOrigin(async c =>
        {
            while (await c.ReadHeadAsync() is not null)
            {
                Interlocked.Increment(ref slowRequests);
                await Task.Delay(200, c.Token);
                await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow\n");
            }
        });
        await using OriginServer fast = await OriginServer.StartAsync("fast");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [slow.Address, fast.Address], "lb_policy: peak_ewma"));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        for (int i = 0; i < 40; i++) Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get($"/e/{i}"))).Status);

        // The first pick between two unmeasured endpoints is a coin toss, so the slow one may get none at all;
        // round robin would give it 20.
        Assert.Equal(40, Volatile.Read(ref slowRequests) + fast.RequestCount);
        Assert.InRange(Volatile.Read(ref slowRequests), 0, 8);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("ring_hash")]
    [InlineData("maglev")]
    public async Task ConsistentHash_OnHeader_SameUserSameOrigin_UsersSpread(string policy)
    {
        await using OriginServer a = await OriginServer.StartAsync("a");
        await using OriginServer b = await OriginServer.StartAsync("b");
        await using OriginServer c = await OriginServer.StartAsync("c");
        OriginServer[] origins = [a, b, c];
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [a.Address, b.Address, c.Address], $"lb_policy: {policy}", "hash_policy: {header: x-user}"));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        var servedBy = new Dictionary<string, HashSet<string>>();
        for (int user = 0; user < 12; user++)
        {
            for (int i = 0; i < 5; i++)
            {
                RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/u/{i}", $"X-User: user-{user}"));
                Assert.Equal(200, r.Status);
                string origin = r.BodyText.Contains("origin=a", StringComparison.Ordinal) ? "a" : r.BodyText.Contains("origin=b", StringComparison.Ordinal) ? "b" : "c";
                if (!servedBy.TryGetValue($"user-{user}", out HashSet<string>? set)) servedBy[$"user-{user}"] = set = [];
                set.Add(origin);
            }
        }

        Assert.All(servedBy.Values, set => Assert.Single(set));   // every user sticks to one origin
        Assert.True(servedBy.Values.Select(s => s.Single()).Distinct().Count() >= 2, "12 users should not all hash to one of three origins");
        Assert.Equal(60, origins.Sum(o => o.RequestCount));
    }
}
