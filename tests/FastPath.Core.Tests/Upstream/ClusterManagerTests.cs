// ClusterManager across reloads: pools and unchanged endpoints (with their load-balancing state) survive; a build
// that is never activated changes nothing.
using FastPath.Config;
using FastPath.Transport;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastPath.Core.Tests.Upstream;

public sealed class ClusterManagerTests : IDisposable
{
    private readonly Heartbeat _heartbeat = new();
    private readonly UpstreamConnector _connector = new(NullLoggerFactory.Instance);

    public void Dispose()
    {
        _heartbeat.Dispose();
        _connector.Dispose();
    }

    private static GatewayConfig Config(params EndpointConfig[] endpoints) => new()
    {
        Clusters = [new ClusterConfig { Name = "c", Endpoints = endpoints, LbPolicy = "least_request" }],
    };

    private static EndpointConfig Ep(int port, int weight = 1) => new() { Host = "127.0.0.1", Port = port, Weight = weight };

    [Fact]
    public void Rebuild_UnchangedEndpoint_SameObjectWithItsCounters()
    {
        var manager = new ClusterManager(_connector, _heartbeat);
        ClusterSet first = manager.Build(Config(Ep(9001), Ep(9002)), "t");
        manager.Activate(first);
        UpstreamEndpoint e1 = first.Clusters["c"].Endpoints[0];
        Interlocked.Increment(ref e1.ActiveRequests);

        ClusterSet second = manager.Build(Config(Ep(9001), Ep(9002, weight: 5)), "t");
        manager.Activate(second);

        Assert.Same(e1, second.Clusters["c"].Endpoints[0]);
        Assert.Equal(1, second.Clusters["c"].Endpoints[0].ActiveRequests);
        // A changed weight is a new endpoint (the balancer's schedule changes), on the same pool.
        UpstreamEndpoint old2 = first.Clusters["c"].Endpoints[1], new2 = second.Clusters["c"].Endpoints[1];
        Assert.NotSame(old2, new2);
        Assert.Same(old2.Pool, new2.Pool);
    }

    [Fact]
    public void BuildNotActivated_DoesNotReplaceLiveEndpointsOrDrainPools()
    {
        var manager = new ClusterManager(_connector, _heartbeat);
        ClusterSet live = manager.Build(Config(Ep(9001)), "t");
        manager.Activate(live);

        manager.Build(Config(Ep(9003)), "t"); // rejected later, never activated

        ClusterSet again = manager.Build(Config(Ep(9001)), "t");
        Assert.Same(live.Clusters["c"].Endpoints[0], again.Clusters["c"].Endpoints[0]);
        Assert.False(live.Clusters["c"].Endpoints[0].Pool.Draining);
    }

    [Fact]
    public void RepeatedAddressInOneCluster_ActivatesWithoutError()
    {
        var manager = new ClusterManager(_connector, _heartbeat);
        ClusterSet set = manager.Build(Config(Ep(9001), Ep(9001)), "t");
        manager.Activate(set);
        Assert.Equal(2, set.Clusters["c"].Endpoints.Length);
    }
}
