// The upstream health fields of a cluster: health_check, outlier_detection, slow_start, healthy_panic_threshold and
// endpoint priority/locality parse into ClusterConfig, and each mistake names file, line and field path.
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public class HealthConfigLoaderTests
{
    private const string File = "gateway.yaml";

    private const string Base = """
        listeners:
          - name: public
            port: 8080
            virtual_hosts:
              - routes:
                  - cluster: web
        clusters:
          - name: web
            endpoints:
              - {address: "127.0.0.1:9000", priority: 0, locality: us-east1/us-east1-b}
              - {address: "127.0.0.1:9001", weight: 2, priority: 1, locality: us-west1}
        """;

    [Fact]
    public void Parse_GrpcHealthCheck_Read()
    {
        ClusterConfig c = GatewayConfigLoader.Parse(Base + """

                health_check: {grpc: {service_name: shop.Cart, authority: cart.internal}, interval: 1s}
            """, File).Clusters[0];
        Assert.Equal(new GrpcHealthCheckConfig { ServiceName = "shop.Cart", Authority = "cart.internal" }, c.HealthCheck!.Grpc);
        Assert.Null(c.HealthCheck.Http);
        Assert.Equal(new GrpcHealthCheckConfig(), GatewayConfigLoader.Parse(Base + "\n    health_check: {grpc: {}}", File).Clusters[0].HealthCheck!.Grpc);
    }

    [Fact]
    public void Parse_AllHealthFields_Read()
    {
        string yaml = Base + """

                lb_policy: least_request
                health_check:
                  http: {path: /ready, host: web.internal, expected_statuses: ["200-299", "304"], codec_client_type: HTTP2}
                  interval: 2s
                  timeout: 500ms
                  healthy_threshold: 1
                  unhealthy_threshold: 4
                  interval_jitter: 250ms
                outlier_detection:
                  consecutive_5xx: 3
                  consecutive_gateway_errors: 2
                  interval: 1s
                  base_ejection_time: 15s
                  max_ejection_percent: 50
                  min_health_percent: 20
                slow_start: {window: 1m, aggression: 2.5, min_weight_percent: 5}
                healthy_panic_threshold: 0
            """;

        ClusterConfig c = GatewayConfigLoader.Parse(yaml, File).Clusters[0];

        HealthCheckConfig hc = Assert.IsType<HealthCheckConfig>(c.HealthCheck);
        Assert.Equal("/ready", hc.Http!.Path);
        Assert.Equal("web.internal", hc.Http.Host);
        Assert.Equal([new StatusRange(200, 299), new StatusRange(304, 304)], hc.Http.ExpectedStatuses);
        Assert.Equal(HealthCheckCodec.Http2, hc.Http.Codec);
        Assert.True(hc.Http.UsesHttp2(UpstreamProtocol.Http1)); // set: it wins over the cluster's protocol
        Assert.True(new HttpHealthCheckConfig().UsesHttp2(UpstreamProtocol.Http2)); // unset: follows it
        Assert.False(new HttpHealthCheckConfig().UsesHttp2(UpstreamProtocol.Auto));
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500), 1, 4, TimeSpan.FromMilliseconds(250)),
            (hc.Interval, hc.Timeout, hc.HealthyThreshold, hc.UnhealthyThreshold, hc.IntervalJitter));
        Assert.Equal(new OutlierDetectionConfig
        {
            Consecutive5xx = 3, ConsecutiveGatewayErrors = 2, Interval = TimeSpan.FromSeconds(1),
            BaseEjectionTime = TimeSpan.FromSeconds(15), MaxEjectionPercent = 50, MinHealthPercent = 20,
        }, c.OutlierDetection);
        Assert.Equal(new SlowStartConfig { Window = TimeSpan.FromMinutes(1), Aggression = 2.5, MinWeightPercent = 5 }, c.SlowStart);
        Assert.Equal(0, c.HealthyPanicThreshold);
        Assert.Equal((0, "us-east1/us-east1-b"), (c.Endpoints[0].Priority, c.Endpoints[0].Locality));
        Assert.Equal((1, "us-west1", 2), (c.Endpoints[1].Priority, c.Endpoints[1].Locality, c.Endpoints[1].Weight));
    }

    [Fact]
    public void Parse_TcpCheckAndEmptyOutlierDetection_EnvoyDefaults()
    {
        string yaml = Base + "\n    health_check: {tcp: {}}\n    outlier_detection: {}";

        ClusterConfig c = GatewayConfigLoader.Parse(yaml, File).Clusters[0];

        Assert.Null(c.HealthCheck!.Http);
        Assert.Equal((TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), 2, 3), (c.HealthCheck.Interval, c.HealthCheck.Timeout,
            c.HealthCheck.HealthyThreshold, c.HealthCheck.UnhealthyThreshold));
        Assert.Equal(new OutlierDetectionConfig(), c.OutlierDetection);
        Assert.Equal((5, 0, 10), (c.OutlierDetection!.Consecutive5xx, c.OutlierDetection.ConsecutiveGatewayErrors, c.OutlierDetection.MaxEjectionPercent));
        Assert.Equal(50, c.HealthyPanicThreshold);
        Assert.Null(c.SlowStart);
    }

    [Fact]
    public void Parse_NoHealthFields_NothingConfigured()
    {
        ClusterConfig c = GatewayConfigLoader.Parse(Base, File).Clusters[0];
        Assert.Equal((null, null, null, 50), (c.HealthCheck, c.OutlierDetection, c.SlowStart, c.HealthyPanicThreshold));
    }

    [Theory]
    [InlineData("health_check: {}", "health_check: {}", "clusters[0].health_check", "set http")]
    [InlineData("health_check: {tcp: {}, http: {}}", "health_check: {tcp", "clusters[0].health_check.http", "one of http, grpc or tcp")]
    [InlineData("health_check: {grpc: {}, http: {}}", "health_check: {grpc", "clusters[0].health_check.http", "one of http, grpc or tcp")]
    [InlineData("health_check: {grpc: {service: x}}", "health_check: {grpc", "clusters[0].health_check.grpc.service", "unknown field")]
    [InlineData("health_check: {grpc: {authority: \"a b\"}}", "health_check:", "clusters[0].health_check.grpc.authority", "invalid authority")]
    [InlineData("health_check: {tcp: {port: 1}}", "health_check: {tcp", "clusters[0].health_check.tcp.port", "unknown field")]
    [InlineData("health_check: {tcp: {}, intervall: 1s}", "health_check:", "clusters[0].health_check.intervall", "unknown field")]
    [InlineData("health_check: {tcp: {}, interval: 0s}", "health_check:", "clusters[0].health_check.interval", "greater than zero")]
    [InlineData("health_check: {tcp: {}, timeout: soon}", "health_check:", "clusters[0].health_check.timeout", "expected a duration")]
    [InlineData("health_check: {tcp: {}, unhealthy_threshold: 0}", "health_check:", "clusters[0].health_check.unhealthy_threshold", "expected an integer")]
    [InlineData("health_check: {http: {path: healthz}}", "health_check:", "clusters[0].health_check.http.path", "origin-form")]
    [InlineData("health_check: {http: {path: \"/a b\"}}", "health_check:", "clusters[0].health_check.http.path", "origin-form")]
    [InlineData("health_check: {http: {expected_statuses: [\"399-200\"]}}", "health_check:", "clusters[0].health_check.http.expected_statuses[0]", "inclusive range")]
    [InlineData("health_check: {http: {expected_statuses: [\"600\"]}}", "health_check:", "clusters[0].health_check.http.expected_statuses[0]", "within 100-599")]
    [InlineData("health_check: {http: {expected_statuses: []}}", "health_check:", "clusters[0].health_check.http.expected_statuses", "at least one")]
    [InlineData("health_check: {http: {codec_client_type: HTTP3}}", "health_check:", "clusters[0].health_check.http.codec_client_type", "expected HTTP1 or HTTP2, got 'HTTP3'")]
    [InlineData("outlier_detection: {consecutive_5xx: -1}", "outlier_detection:", "clusters[0].outlier_detection.consecutive_5xx", "expected an integer")]
    [InlineData("outlier_detection: {max_ejection_percent: 101}", "outlier_detection:", "clusters[0].outlier_detection.max_ejection_percent", "expected an integer from 0 to 100")]
    [InlineData("outlier_detection: {base_ejection_time: 0s}", "outlier_detection:", "clusters[0].outlier_detection.base_ejection_time", "greater than zero")]
    [InlineData("outlier_detection: {consecutive5xx: 3}", "outlier_detection:", "clusters[0].outlier_detection.consecutive5xx", "unknown field")]
    [InlineData("slow_start: {aggression: 0}", "slow_start:", "clusters[0].slow_start.aggression", "expected a number")]
    [InlineData("slow_start: {window: 0s}", "slow_start:", "clusters[0].slow_start.window", "greater than zero")]
    [InlineData("lb_policy: ring_hash\n    slow_start: {}", "slow_start:", "clusters[0].slow_start", "not 'ring_hash'")]
    [InlineData("healthy_panic_threshold: 150", "healthy_panic_threshold:", "clusters[0].healthy_panic_threshold", "expected an integer from 0 to 100")]
    public void Parse_BadHealthField_ErrorNamesFileLineAndPath(string field, string lineText, string path, string message)
    {
        string yaml = Base + "\n    " + field;

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal((File, LineOf(yaml, lineText), path), (error.File, error.Line, error.Path));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("priority: -1", "clusters[0].endpoints[2].priority", "expected an integer")]
    [InlineData("priority: 200", "clusters[0].endpoints[2].priority", "expected an integer")]
    [InlineData("locality: a//b", "clusters[0].endpoints[2].locality", "region/zone/subzone")]
    [InlineData("locality: a/b/c/d", "clusters[0].endpoints[2].locality", "region/zone/subzone")]
    [InlineData("zone: a", "clusters[0].endpoints[2].zone", "unknown field")]
    public void Parse_BadEndpointField_ErrorNamesFileLineAndPath(string field, string path, string message)
    {
        string yaml = Base + "\n      - {address: \"127.0.0.1:9002\", " + field + "}";

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal((File, LineOf(yaml, "9002"), path), (error.File, error.Line, error.Path));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static int LineOf(string yaml, string text)
    {
        string[] lines = yaml.Split('\n');
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].Contains(text, StringComparison.Ordinal)) return i + 1;
        throw new InvalidOperationException($"'{text}' not in the document");
    }
}
