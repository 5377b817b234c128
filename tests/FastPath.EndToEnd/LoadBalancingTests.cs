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
}
