// ClusterManager with health settings: health and ejections survive reloads, endpoints joining a running cluster
// start slow, checkers start on activation and stop when their settings or cluster go away.
using FastPath.Config;
using FastPath.Core.Tests.LoadBalancing;
using FastPath.LoadBalancing;
using FastPath.Transport;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Health;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastPath.Core.Tests.Upstream;

public sealed class ClusterManagerHealthTests : IDisposable
{
    private readonly Heartbeat _heartbeat = new();
    private readonly UpstreamConnector _connector = new(NullLoggerFactory.Instance);
    private readonly ManualTimeProvider _time = new();

    public void Dispose()
    {
        _heartbeat.Dispose();
        _connector.Dispose();
    }

    private static readonly OutlierDetectionConfig Outliers = new() { Consecutive5xx = 2, MaxEjectionPercent = 100 };

    private static GatewayConfig Config(ClusterConfig? extra = null, params EndpointConfig[] endpoints) => new()
    {
        Clusters = [(extra ?? new ClusterConfig()) with { Name = "c", Endpoints = endpoints }],
    };

    private static EndpointConfig Ep(int port, int weight = 1, int priority = 0) => new() { Host = "127.0.0.1", Port = port, Weight = weight, Priority = priority };

    private ClusterManager Manager() => new(_connector, _heartbeat, NullLogger.Instance, _time);

    [Fact]
    public void Reload_EjectedEndpointReweighted_StaysEjected()
    {
        using ClusterManager manager = Manager();
        var extra = new ClusterConfig { OutlierDetection = Outliers };
        ClusterSet first = manager.Build(Config(extra, Ep(9001), Ep(9002)), "t");
        manager.Activate(first);
        UpstreamEndpoint e = first.Clusters["c"].Endpoints[0];
        e.ReportOutcome(ProxyError.None, 503);
        e.ReportOutcome(ProxyError.None, 503);
        Assert.False(e.Healthy);

        ClusterSet same = manager.Build(Config(extra, Ep(9001), Ep(9002)), "t");
        ClusterSet reweighted = manager.Build(Config(extra, Ep(9001, weight: 3), Ep(9002)), "t");
        manager.Activate(reweighted);

        Assert.Same(e, same.Clusters["c"].Endpoints[0]);
        UpstreamEndpoint replaced = reweighted.Clusters["c"].Endpoints[0];
        Assert.NotSame(e, replaced);
        Assert.False(replaced.Healthy);
        Assert.Equal(1, replaced.EjectionCount);
        // Its ejection still ends: the detector tracks the replacement.
        _time.Advance(TimeSpan.FromSeconds(30));
        replaced.Outlier!.Sweep(_time.GetTimestamp());
        Assert.True(replaced.Healthy);
    }

    [Fact]
    public void Reload_NewEndpoint_InSlowStart_FirstConfigEndpointsNot()
    {
        using ClusterManager manager = Manager();
        ClusterSet first = manager.Build(Config(null, Ep(9001)), "t");
        manager.Activate(first);
        _time.Advance(TimeSpan.FromSeconds(5));

        ClusterSet second = manager.Build(Config(null, Ep(9001), Ep(9002)), "t");

        Assert.Equal(0, second.Clusters["c"].Endpoints[0].AvailableSince);
        Assert.Equal(_time.GetTimestamp(), second.Clusters["c"].Endpoints[1].AvailableSince);
    }

    [Fact]
    public void Build_PriorityLevels_ClusterBalancerFailsOver()
    {
        using ClusterManager manager = Manager();
        ClusterSet set = manager.Build(Config(null, Ep(9001, priority: 0), Ep(9002, priority: 1)), "t");
        manager.Activate(set);
        Cluster c = set.Clusters["c"];
        var balancer = Assert.IsType<ClusterLoadBalancer>(c.LoadBalancer);
        Assert.Equal(2, balancer.LevelCount);
        Assert.Same(c.Endpoints[0], c.LoadBalancer.Pick(default));

        c.Endpoints[0].Healthy = false;

        Assert.Same(c.Endpoints[1], c.LoadBalancer.Pick(default));
    }

    [Fact]
    public async Task Activate_TcpHealthCheckOnClosedPort_MarksUnhealthyThenRemovalRestores()
    {
        using ClusterManager manager = new(_connector, _heartbeat, NullLogger.Instance, TimeProvider.System);
        int closed = FreePort();
        var checks = new ClusterConfig { HealthCheck = new HealthCheckConfig { Interval = TimeSpan.FromMilliseconds(100), Timeout = TimeSpan.FromSeconds(1) } };
        ClusterSet set = manager.Build(Config(checks, Ep(closed)), "t");
        manager.Activate(set);
        UpstreamEndpoint e = set.Clusters["c"].Endpoints[0];

        await WaitUntil(() => !e.Healthy);
        Assert.Equal((int)EndpointHealthFlags.FailedActiveHealthCheck, e.HealthFlags);

        ClusterSet unchecked_ = manager.Build(Config(null, Ep(closed)), "t");
        manager.Activate(unchecked_);

        Assert.Same(e, unchecked_.Clusters["c"].Endpoints[0]);
        Assert.True(e.Healthy);
        await Task.Delay(300);
        Assert.True(e.Healthy); // the checker stopped with its settings
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition(), "condition not reached within 10 s");
    }
}
