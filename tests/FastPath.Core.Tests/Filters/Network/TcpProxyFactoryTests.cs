// TcpProxyFactory: weighted_clusters are picked per connection in proportion to their weights (seeded random).
using FastPath.Config;
using FastPath.Core.Tests.LoadBalancing;
using FastPath.Filters.Network;
using FastPath.LoadBalancing;
using FastPath.Observability.Stats;
using FastPath.Upstream.Clusters;

namespace FastPath.Core.Tests.Filters.Network;

public sealed class TcpProxyFactoryTests
{
    private static Dictionary<string, Cluster> Clusters(params string[] names) => names.ToDictionary(n => n,
        n => new Cluster(new ClusterConfig { Name = n }, [LoadBalancingTestKit.Endpoint(0)], new ClusterStats(n)));

    [Fact]
    public void PickCluster_Weighted3To1_SplitFollowsWeights()
    {
        var config = new TcpProxyConfig
        {
            WeightedClusters = [new() { Cluster = "heavy", Weight = 3 }, new() { Cluster = "light", Weight = 1 }],
        };
        var factory = new TcpProxyFactory(config, Clusters("heavy", "light"), new SeededRandom(7));

        int[] counts = new int[2];
        for (int i = 0; i < 10_000; i++) counts[factory.PickCluster()]++;

        Assert.Equal("heavy", factory.Cluster(0).Name);
        Assert.InRange(counts[0], 7_200, 7_800);
        Assert.InRange(counts[1], 2_200, 2_800);
    }

    [Fact]
    public void PickCluster_SingleCluster_AlwaysIt_IdleTimeoutInMs()
    {
        var factory = new TcpProxyFactory(new TcpProxyConfig { Cluster = "only", IdleTimeout = TimeSpan.FromSeconds(2) }, Clusters("only"));

        Assert.Equal(0, factory.PickCluster());
        Assert.Equal("only", factory.Cluster(0).Name);
        Assert.Equal(2000, factory.IdleTimeoutMs);
    }
}
