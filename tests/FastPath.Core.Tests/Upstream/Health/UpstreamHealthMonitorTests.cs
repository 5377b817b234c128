// UpstreamHealthMonitor: a checker runs while its cluster has health_check, keeps running across a reload with the
// same settings, and stops when the settings or the cluster go away. Probes are counted by a real listener.
using System.Net;
using System.Net.Sockets;
using FastPath.Config;
using FastPath.Upstream;
using FastPath.Upstream.Health;
using Microsoft.Extensions.Logging.Abstractions;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.Upstream.Health;

public sealed class UpstreamHealthMonitorTests : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _probes;

    public UpstreamHealthMonitorTests()
    {
        _listener.Start();
        _accepting = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using Socket s = await _listener.AcceptSocketAsync(_stop.Token);
                    Interlocked.Increment(ref _probes);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
    }

    private int Probes => Volatile.Read(ref _probes);

    private UpstreamEndpoint[] ListenerEndpoint()
    {
        var address = (IPEndPoint)_listener.LocalEndpoint;
        return [new UpstreamEndpoint("127.0.0.1", address.Port, 1, address, Endpoint(0).Pool)];
    }

    private static readonly ClusterConfig Checked = new()
    {
        HealthCheck = new HealthCheckConfig { Interval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(1) },
    };

    /// <summary>
    /// Running: at least three more probes arrive (waiting up to 10 s, so a loaded machine only slows this down).
    /// Stopped: after a moment for a probe already in flight, none arrives within half a second (ten intervals).
    /// </summary>
    private async Task AssertProbesAsync(bool expectMore)
    {
        if (expectMore)
        {
            int before = Probes;
            for (int i = 0; i < 200 && Probes < before + 3; i++) await Task.Delay(50);
            Assert.True(Probes >= before + 3, $"{Probes - before} probes in 10 s at a 50 ms interval");
            return;
        }
        await Task.Delay(200);
        int settled = Probes;
        await Task.Delay(500);
        Assert.True(Probes == settled, $"{Probes - settled} probes after the checker should have stopped");
    }

    [Fact]
    public async Task Activate_ChecksRunWhileConfiguredAndStopWhenRemoved()
    {
        using var monitor = new UpstreamHealthMonitor(NullLogger.Instance, TimeProvider.System);
        UpstreamEndpoint[] endpoints = ListenerEndpoint();

        monitor.Activate([("c", Checked, endpoints)]);
        await AssertProbesAsync(expectMore: true);
        Assert.True(endpoints[0].Healthy);

        monitor.Activate([("c", Checked, endpoints)]); // a reload with the same settings: the checker carries on
        await AssertProbesAsync(expectMore: true);

        monitor.Activate([("c", new ClusterConfig(), endpoints)]);
        await AssertProbesAsync(expectMore: false);
    }

    [Fact]
    public async Task Activate_ClusterRemoved_CheckerStops()
    {
        using var monitor = new UpstreamHealthMonitor(NullLogger.Instance, TimeProvider.System);
        monitor.Activate([("c", Checked, ListenerEndpoint())]);
        await AssertProbesAsync(expectMore: true);

        monitor.Activate(new List<(string, ClusterConfig, UpstreamEndpoint[])>());

        await AssertProbesAsync(expectMore: false);
    }

    [Fact]
    public async Task Dispose_CheckerStops()
    {
        var monitor = new UpstreamHealthMonitor(NullLogger.Instance, TimeProvider.System);
        monitor.Activate([("c", Checked, ListenerEndpoint())]);
        await AssertProbesAsync(expectMore: true);

        monitor.Dispose();

        await AssertProbesAsync(expectMore: false);
    }
}
