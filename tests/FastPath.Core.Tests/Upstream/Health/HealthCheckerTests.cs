// Active health checking: the threshold state machine (deterministic, no sockets), jitter bounds, the status-line
// parser, and the HTTP and TCP probes against real sockets on 127.0.0.1.
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastPath.Config;
using FastPath.Core.Tests.LoadBalancing;
using FastPath.LoadBalancing;
using FastPath.Upstream;
using FastPath.Upstream.Health;
using Microsoft.Extensions.Logging.Abstractions;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.Upstream.Health;

public class HealthCheckerTests
{
    private static HealthTransition Observe(UpstreamEndpoint e, bool success) => HealthChecker.Observe(e, success, healthyThreshold: 2, unhealthyThreshold: 3, now: 42);

    [Fact]
    public void Observe_FirstProbeFails_UnhealthyAtOnce()
    {
        UpstreamEndpoint e = Endpoint(0);
        Assert.True(e.Healthy); // endpoints start healthy: no 503s while the first probes run
        Assert.Equal(HealthTransition.BecameUnhealthy, Observe(e, false));
        Assert.False(e.Healthy);
    }

    [Fact]
    public void Observe_AfterFirst_UnhealthyOnlyAfterThresholdFailuresInARow()
    {
        UpstreamEndpoint e = Endpoint(0);
        Observe(e, true);

        Assert.Equal(HealthTransition.None, Observe(e, false));
        Assert.Equal(HealthTransition.None, Observe(e, false));
        Assert.Equal(HealthTransition.None, Observe(e, true));   // a success starts the count over
        Assert.Equal(HealthTransition.None, Observe(e, false));
        Assert.Equal(HealthTransition.None, Observe(e, false));
        Assert.True(e.Healthy);
        Assert.Equal(HealthTransition.BecameUnhealthy, Observe(e, false));
        Assert.False(e.Healthy);
        Assert.Equal(HealthTransition.None, Observe(e, false));
    }

    [Fact]
    public void Observe_Unhealthy_HealthyAfterThresholdSuccessesInARow()
    {
        UpstreamEndpoint e = Endpoint(0);
        Observe(e, false);

        Assert.Equal(HealthTransition.None, Observe(e, true));
        Assert.Equal(HealthTransition.None, Observe(e, false));  // a failure starts the count over
        Assert.Equal(HealthTransition.None, Observe(e, true));
        Assert.False(e.Healthy);
        Assert.Equal(HealthTransition.BecameHealthy, Observe(e, true));
        Assert.True(e.Healthy);
        Assert.Equal(42, e.AvailableSince); // slow start ramps it back in from the recovery
    }

    [Fact]
    public void Observe_OutlierEjectedEndpointPassesChecks_StaysOutUntilEjectionEnds()
    {
        UpstreamEndpoint e = Endpoint(0);
        e.SetHealthFlag(EndpointHealthFlags.OutlierEjected, true, 1);
        Observe(e, true);
        Observe(e, true);
        Assert.False(e.Healthy);
        Assert.Equal((int)EndpointHealthFlags.OutlierEjected, e.HealthFlags);
    }

    [Fact]
    public void NextDelay_Jitter_WithinIntervalPlusJitter()
    {
        var config = new HealthCheckConfig { Interval = TimeSpan.FromSeconds(5), IntervalJitter = TimeSpan.FromSeconds(1) };
        using var checker = new HealthChecker("c", config, [], TimeProvider.System, NullLogger.Instance, new SeededRandom(3));

        TimeSpan[] delays = [.. Enumerable.Range(0, 1000).Select(_ => checker.NextDelay())];

        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(6) - TimeSpan.FromTicks(1)));
        Assert.True(delays.Distinct().Count() > 900, "jitter should spread the delays");
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\n", 200)]
    [InlineData("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 503)]
    [InlineData("HTTP/1.1 204\r\n", 204)]
    [InlineData("HTTP/1.1 200 OK", 0)]          // line not complete yet
    [InlineData("HTTP/1.", 0)]
    [InlineData("HTTP/2 200\r\n", -1)]
    [InlineData("SSH-2.0-OpenSSH\r\n", -1)]
    [InlineData("HTTP/1.1 2x0 OK\r\n", -1)]
    [InlineData("HTTP/1.1 099 Low\r\n", -1)]
    [InlineData("HTTP/1.1 2000 OK\r\n", -1)]
    public void ParseStatusLine_Cases(string text, int expected)
    {
        Assert.Equal(expected, HealthProbe.ParseStatusLine(Encoding.ASCII.GetBytes(text)));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", null)]
    [InlineData("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n", null)]
    [InlineData("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", "status 503")]
    [InlineData("garbage\r\n", "invalid status line")]
    [InlineData("", "closed before a status line")]
    public async Task ProbeAsync_Http_StatusDecides(string answer, string? expected)
    {
        string? seen = null;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task serve = Task.Run(async () =>
        {
            using Socket s = await listener.AcceptSocketAsync();
            byte[] buffer = new byte[1024];
            int n = await s.ReceiveAsync(buffer, SocketFlags.None);
            seen = Encoding.ASCII.GetString(buffer, 0, n);
            if (answer.Length > 0) await s.SendAsync(Encoding.ASCII.GetBytes(answer), SocketFlags.None);
            s.Shutdown(SocketShutdown.Both);
        });
        var probe = new HealthProbe(new HealthCheckConfig { Http = new HttpHealthCheckConfig { Path = "/healthz", ExpectedStatuses = [new(200, 399)] } }, "web");

        string? result = await probe.ProbeAsync((IPEndPoint)listener.LocalEndpoint, TimeSpan.FromSeconds(5), CancellationToken.None);
        await serve;

        Assert.Equal(expected, result);
        Assert.StartsWith("GET /healthz HTTP/1.1\r\nHost: web\r\n", seen);
        Assert.EndsWith("\r\n\r\n", seen);
    }

    [Fact]
    public async Task ProbeAsync_HttpNoAnswer_TimesOut()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(); // accepts (the kernel completes the handshake) but never answers
        var probe = new HealthProbe(new HealthCheckConfig { Http = new HttpHealthCheckConfig() }, "web");

        string? result = await probe.ProbeAsync((IPEndPoint)listener.LocalEndpoint, TimeSpan.FromMilliseconds(200), CancellationToken.None);

        Assert.Equal("timed out", result);
    }

    [Fact]
    public async Task ProbeAsync_TcpOpenAndClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var open = (IPEndPoint)listener.LocalEndpoint;
        int closedPort;
        using (var temp = new TcpListener(IPAddress.Loopback, 0))
        {
            temp.Start();
            closedPort = ((IPEndPoint)temp.LocalEndpoint).Port;
        }
        var probe = new HealthProbe(new HealthCheckConfig(), "c");

        Assert.Null(await probe.ProbeAsync(open, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.StartsWith("connect failed", await probe.ProbeAsync(new IPEndPoint(IPAddress.Loopback, closedPort), TimeSpan.FromSeconds(5), CancellationToken.None));
    }
}
