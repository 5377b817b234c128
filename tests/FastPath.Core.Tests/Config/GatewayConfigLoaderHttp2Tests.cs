// A cluster's HTTP/2 settings in the gateway YAML (Envoy's http2_protocol_options names and connection_keepalive):
// read into the record, and every bad value reported at once with file, line and field path.
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public sealed class GatewayConfigLoaderHttp2Tests
{
    private const string File = "gateway.yaml";

    private static string Yaml(string cluster) => GatewayConfigLoaderResilienceTests.Yaml(cluster: cluster);

    private static List<ConfigError> Errors(string yaml) =>
        Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File)).Errors.ToList();

    [Fact]
    public void Parse_Http2Options_AllFieldsRead()
    {
        GatewayConfig c = GatewayConfigLoader.Parse(Yaml("""
                protocol: http2
                http2:
                  max_concurrent_streams: 10
                  initial_stream_window_size: 65535
                  initial_connection_window_size: 4194304
                  connection_keepalive: {interval: 30s, timeout: 5s}
            """), File);

        UpstreamHttp2Config h2 = c.Clusters[0].Http2!;
        Assert.Equal(10, h2.MaxConcurrentStreams);
        Assert.Equal(65_535, h2.InitialStreamWindowSize);
        Assert.Equal(4 * 1024 * 1024, h2.InitialConnectionWindowSize);
        Assert.Equal(TimeSpan.FromSeconds(30), h2.KeepaliveInterval);
        Assert.Equal(TimeSpan.FromSeconds(5), h2.KeepaliveTimeout);
    }

    [Fact]
    public void Parse_NoHttp2Block_DefaultsLeaveThePeerLimitAndNoKeepalive()
    {
        GatewayConfig c = GatewayConfigLoader.Parse(Yaml("    protocol: http2\n    http2: {}"), File);

        UpstreamHttp2Config h2 = c.Clusters[0].Http2!;
        Assert.Null(h2.MaxConcurrentStreams);
        Assert.Equal(256 * 1024, h2.InitialStreamWindowSize);
        Assert.Equal(1024 * 1024, h2.InitialConnectionWindowSize);
        Assert.Null(h2.KeepaliveInterval);
    }

    [Fact]
    public void Parse_BadHttp2Values_EachReportedWithLineAndPath()
    {
        string yaml = Yaml("""
                protocol: http2
                http2:
                  max_concurrent_streams: 0
                  initial_stream_window_size: 1000
                  initial_connection_window_size: 4294967296
                  connection_keepalive: {timeout: 0s}
                  hpack_table_size: 4096
            """);

        List<ConfigError> errors = Errors(yaml);

        int Line(string text) => GatewayConfigLoaderResilienceTests.LineOf(yaml, text);
        Assert.Contains(errors, e => e.Path == "clusters[0].http2.max_concurrent_streams" && e.Line == Line("max_concurrent") && e.File == File);
        Assert.Contains(errors, e => e.Path == "clusters[0].http2.initial_stream_window_size" && e.Line == Line("initial_stream"));
        Assert.Contains(errors, e => e.Path == "clusters[0].http2.initial_connection_window_size" && e.Line == Line("initial_connection"));
        Assert.Contains(errors, e => e.Path == "clusters[0].http2.connection_keepalive.interval" && e.Message.Contains("greater than zero"));
        Assert.Contains(errors, e => e.Path == "clusters[0].http2.connection_keepalive.timeout" && e.Message.Contains("greater than zero"));
        Assert.Contains(errors, e => e.Path == "clusters[0].http2.hpack_table_size" && e.Message.Contains("unknown field"));
    }

    [Fact]
    public void Parse_Http2OptionsOnHttp1Cluster_ErrorNamesClusterAndField()
    {
        string yaml = Yaml("    http2: {max_concurrent_streams: 10}");
        List<ConfigError> errors = Errors(yaml);

        ConfigError e = Assert.Single(errors);
        Assert.Equal("clusters[0].http2", e.Path);
        Assert.Contains("'web'", e.Message);
        Assert.Equal(GatewayConfigLoaderResilienceTests.LineOf(yaml, "http2:"), e.Line);
    }
}
