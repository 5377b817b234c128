// Circuit-breaker counts belong to the cluster name, not to one build: a reload's new thresholds compare against
// what requests and connections of the old snapshot still hold, and they give it back to the same counters.
using FastPath.Config;
using FastPath.Transport;
using FastPath.Upstream.Clusters;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastPath.Core.Tests.Upstream.Clusters;

public sealed class ClusterManagerBreakerTests : IDisposable
{
    private readonly Heartbeat _heartbeat = new();
    private readonly UpstreamConnector _connector = new(NullLoggerFactory.Instance);

    public void Dispose()
    {
        _heartbeat.Dispose();
        _connector.Dispose();
    }

    private static GatewayConfig Config(int maxRequests) => new()
    {
        Clusters =
        [
            new ClusterConfig
            {
                Name = "c",
                Endpoints = [new EndpointConfig { Host = "127.0.0.1", Port = 9001 }],
                CircuitBreakers = new CircuitBreakersConfig { MaxRequests = maxRequests },
            },
        ],
    };

    [Fact]
    public void Rebuild_NewThresholds_SameCounters()
    {
        var manager = new ClusterManager(_connector, _heartbeat);
        ClusterSet first = manager.Build(Config(maxRequests: 10), "t");
        manager.Activate(first);
        CircuitBreakers before = first.Clusters["c"].Breakers;
        for (int i = 0; i < 3; i++) Assert.True(before.TryAcquireRequest());

        ClusterSet second = manager.Build(Config(maxRequests: 3), "t");
        manager.Activate(second);
        CircuitBreakers after = second.Clusters["c"].Breakers;

        Assert.Equal(3, after.MaxRequests);
        Assert.Same(before.Resources, after.Resources);
        Assert.False(after.TryAcquireRequest());
        before.ReleaseRequest();
        Assert.True(after.TryAcquireRequest());
    }

    [Fact]
    public void Build_PoolSettingsCarryTheClustersBreakers()
    {
        var manager = new ClusterManager(_connector, _heartbeat);
        ClusterSet set = manager.Build(Config(maxRequests: 5), "t");
        var (_, settings) = set.Pools[("c", "127.0.0.1:9001")];
        Assert.Same(set.Clusters["c"].Breakers, settings.Breakers);
    }
}
