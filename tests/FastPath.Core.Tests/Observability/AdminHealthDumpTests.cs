// /clusters and /config_dump show upstream health: per-endpoint flags, ejections, priority and locality, the
// priority levels' loads and panic state, and the health settings as configured.
using System.Text.Json;
using FastPath.Config;
using FastPath.Observability.Admin;
using FastPath.Transport;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastPath.Core.Tests.Observability;

public sealed class AdminHealthDumpTests : IDisposable
{
    private readonly Heartbeat _heartbeat = new();
    private readonly UpstreamConnector _connector = new(NullLoggerFactory.Instance);

    public void Dispose()
    {
        _heartbeat.Dispose();
        _connector.Dispose();
    }

    private const string Yaml = """
        admin: {port: -1}
        listeners:
          - name: public
            port: 8080
            virtual_hosts:
              - routes:
                  - cluster: web
        clusters:
          - name: web
            endpoints:
              - {address: "127.0.0.1:9001", locality: eu-west1/eu-west1-a}
              - {address: "127.0.0.1:9002", priority: 1}
            health_check: {http: {path: /ready, expected_statuses: ["200-299"]}, interval: 1m}
            outlier_detection: {consecutive_5xx: 1, max_ejection_percent: 100}
            slow_start: {window: 10s}
            healthy_panic_threshold: 30
        """;

    [Fact]
    public void ClustersDump_EjectedEndpoint_ShowsFlagsEjectionsPriorityAndLoads()
    {
        using var manager = new ClusterManager(_connector, _heartbeat);
        // No health_check here: its probes of these unused ports would race the assertions.
        string yaml = string.Join('\n', Yaml.Split('\n').Where(l => !l.Contains("health_check", StringComparison.Ordinal)));
        ProxySnapshot snapshot = ProxySnapshot.Build(GatewayConfigLoader.Parse(yaml, "gateway.yaml"), manager);
        manager.Activate(snapshot.ClusterSet);
        UpstreamEndpoint first = snapshot.Clusters["web"].Endpoints[0];
        first.ReportOutcome(ProxyError.UpstreamConnectFailure, 0);

        using JsonDocument doc = JsonDocument.Parse(AdminServer.ClustersDump(snapshot));

        JsonElement cluster = doc.RootElement.GetProperty("clusters")[0];
        Assert.Equal(30, cluster.GetProperty("healthy_panic_threshold").GetInt32());
        JsonElement[] levels = [.. cluster.GetProperty("priorities").EnumerateArray()];
        Assert.Equal([(0, 0), (1, 100)], levels.Select(l => (l.GetProperty("priority").GetInt32(), l.GetProperty("load_percent").GetInt32())));
        JsonElement e0 = cluster.GetProperty("endpoints")[0], e1 = cluster.GetProperty("endpoints")[1];
        Assert.Equal("unhealthy", e0.GetProperty("health").GetString());
        Assert.Equal(["failed_outlier_check"], e0.GetProperty("health_flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(1, e0.GetProperty("ejections_total").GetInt32());
        Assert.Equal("eu-west1/eu-west1-a", e0.GetProperty("locality").GetString());
        Assert.Equal((1, 0), (e1.GetProperty("priority").GetInt32(), e1.GetProperty("health_flags").GetArrayLength()));
    }

    [Fact]
    public void ConfigDump_HealthSettings_Shown()
    {
        using var manager = new ClusterManager(_connector, _heartbeat);
        ProxySnapshot snapshot = ProxySnapshot.Build(GatewayConfigLoader.Parse(Yaml, "gateway.yaml"), manager);

        using JsonDocument doc = JsonDocument.Parse(AdminServer.ConfigDump(snapshot));

        JsonElement cluster = doc.RootElement.GetProperty("clusters")[0];
        Assert.Equal("/ready", cluster.GetProperty("health_check").GetProperty("http").GetProperty("path").GetString());
        Assert.Equal("200-299", cluster.GetProperty("health_check").GetProperty("http").GetProperty("expected_statuses")[0].GetString());
        Assert.Equal("60s", cluster.GetProperty("health_check").GetProperty("interval").GetString());
        Assert.Equal(1, cluster.GetProperty("outlier_detection").GetProperty("consecutive_5xx").GetInt32());
        Assert.Equal("10s", cluster.GetProperty("slow_start").GetProperty("window").GetString());
        Assert.Equal(1, cluster.GetProperty("endpoints")[1].GetProperty("priority").GetInt32());
    }
}
