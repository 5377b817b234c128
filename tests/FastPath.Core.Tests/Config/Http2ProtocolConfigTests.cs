// A listener's http2 section: read into Http2ProtocolConfig, every mistake reported with file, line and field path,
// and carried by the snapshot to the limits each new HTTP/2 connection of that listener (or its chains) runs with.
using System.Text.Json;
using FastPath.Config;
using FastPath.Http2;
using FastPath.Observability.Admin;
using FastPath.Transport;
using FastPath.Upstream.Clusters;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastPath.Core.Tests.Config;

public sealed class Http2ProtocolConfigTests : IDisposable
{
    private const string File = "gateway.yaml";

    private readonly Heartbeat _heartbeat = new();
    private readonly UpstreamConnector _connector = new(NullLoggerFactory.Instance);
    private readonly ClusterManager _clusters;

    public Http2ProtocolConfigTests() => _clusters = new ClusterManager(_connector, _heartbeat);

    public void Dispose()
    {
        _clusters.Dispose();
        _heartbeat.Dispose();
        _connector.Dispose();
    }

    private ProxySnapshot BuildSnapshot() => ProxySnapshot.Build(GatewayConfigLoader.Parse(Valid, File), _clusters);

    private const string Valid = """
        listeners:
          - name: edge
            address: 127.0.0.1
            port: 8080
            http2:
              max_concurrent_streams: 10
              initial_stream_window_size: 65535
              initial_connection_window_size: 2097152
              max_header_list_size: 8192
              hpack_table_size: 0
              rate_interval: 500ms
              max_resets_per_interval: 20
              max_inbound_control_frames_per_interval: 30
              max_inbound_window_update_frames_per_interval: 40
              max_consecutive_inbound_frames_with_empty_payload: 5
              send_stall_timeout: 1s
            virtual_hosts:
              - routes:
                  - cluster: web
            filter_chains:
              - name: api
                match: {transport_protocol: raw_buffer}
                virtual_hosts:
                  - routes:
                      - cluster: web
          - name: plain
            port: 8081
            virtual_hosts:
              - routes:
                  - cluster: web
        clusters:
          - name: web
            endpoints: ["127.0.0.1:9000"]
        """;

    [Fact]
    public void Parse_Http2Section_EveryFieldRead()
    {
        Http2ProtocolConfig h = GatewayConfigLoader.Parse(Valid, File).Listeners[0].Http2;

        Assert.Equal(new Http2ProtocolConfig
        {
            MaxConcurrentStreams = 10,
            InitialStreamWindowSize = 65535,
            InitialConnectionWindowSize = 2 * 1024 * 1024,
            MaxHeaderListSize = 8192,
            HpackTableSize = 0,
            RateInterval = TimeSpan.FromMilliseconds(500),
            MaxResetsPerInterval = 20,
            MaxInboundControlFramesPerInterval = 30,
            MaxInboundWindowUpdateFramesPerInterval = 40,
            MaxConsecutiveInboundFramesWithEmptyPayload = 5,
            SendStallTimeout = TimeSpan.FromSeconds(1),
        }, h);
    }

    [Fact]
    public void ToLimits_ConfiguredListener_EngineLimitsFromEachField()
    {
        Http2ConnectionLimits l = GatewayConfigLoader.Parse(Valid, File).Listeners[0].Http2.ToLimits();

        Assert.Equal(10u, l.MaxConcurrentStreams);
        Assert.Equal(65535, l.InitialStreamWindowSize);
        Assert.Equal(2 * 1024 * 1024, l.ConnectionWindowSize);
        Assert.Equal(8192, l.MaxHeaderListSize);
        Assert.Equal(0, l.HeaderTableSize);
        Assert.Equal(500, l.RateIntervalMs);
        Assert.Equal(20, l.MaxResetsPerInterval);
        Assert.Equal(30, l.MaxControlFramesPerInterval);
        Assert.Equal(40, l.MaxWindowUpdatesPerInterval);
        Assert.Equal(5, l.MaxConsecutiveEmptyFrames);
        Assert.Equal(1000, l.SendStallTimeoutMs);
        // What the section does not name keeps the engine's default.
        Assert.Equal(Http2ConnectionLimits.Default.MaxOutputBufferBytes, l.MaxOutputBufferBytes);
    }

    [Fact]
    public void ToLimits_NoHttp2Section_EngineDefaults()
    {
        Http2ConnectionLimits l = GatewayConfigLoader.Parse(Valid, File).Listeners[1].Http2.ToLimits();
        Http2ConnectionLimits d = Http2ConnectionLimits.Default;

        Assert.Equal(
            (d.MaxConcurrentStreams, d.InitialStreamWindowSize, d.ConnectionWindowSize, d.MaxHeaderListSize, d.HeaderTableSize, d.RateIntervalMs,
                d.MaxResetsPerInterval, d.MaxControlFramesPerInterval, d.MaxWindowUpdatesPerInterval, d.MaxConsecutiveEmptyFrames, d.SendStallTimeoutMs),
            (l.MaxConcurrentStreams, l.InitialStreamWindowSize, l.ConnectionWindowSize, l.MaxHeaderListSize, l.HeaderTableSize, l.RateIntervalMs,
                l.MaxResetsPerInterval, l.MaxControlFramesPerInterval, l.MaxWindowUpdatesPerInterval, l.MaxConsecutiveEmptyFrames, l.SendStallTimeoutMs));
    }

    [Fact]
    public void Snapshot_Http2LimitsFor_ListenerAndItsChainsShareTheListenersLimits()
    {
        ProxySnapshot snapshot = BuildSnapshot();

        string edge = ProxySnapshot.ListenerKey("127.0.0.1", 8080);
        Http2ConnectionLimits limits = snapshot.Http2LimitsFor(edge);
        Assert.Equal(10u, limits.MaxConcurrentStreams);
        Assert.Equal(1000, limits.SendStallTimeoutMs);
        Assert.Same(limits, snapshot.Http2LimitsFor(ProxySnapshot.ChainKey(edge, "api")));
        Assert.Equal(100u, snapshot.Http2LimitsFor(ProxySnapshot.ListenerKey("127.0.0.1", 8081)).MaxConcurrentStreams);
        Assert.Same(Http2ConnectionLimits.Default, snapshot.Http2LimitsFor("no-such-listener"));
    }

    [Fact]
    public void ConfigDump_Http2Section_EffectiveValuesUnderTheYamlNames()
    {
        ProxySnapshot snapshot = BuildSnapshot();

        using JsonDocument doc = JsonDocument.Parse(AdminServer.ConfigDump(snapshot));

        JsonElement listeners = doc.RootElement.GetProperty("listeners");
        JsonElement configured = listeners[0].GetProperty("http2");
        Assert.Equal(10, configured.GetProperty("max_concurrent_streams").GetInt32());
        Assert.Equal("500ms", configured.GetProperty("rate_interval").GetString());
        Assert.Equal(5, configured.GetProperty("max_consecutive_inbound_frames_with_empty_payload").GetInt32());
        Assert.Equal("1s", configured.GetProperty("send_stall_timeout").GetString());
        JsonElement defaults = listeners[1].GetProperty("http2");
        Assert.Equal(100, defaults.GetProperty("max_concurrent_streams").GetInt32());
        Assert.Equal("30s", defaults.GetProperty("send_stall_timeout").GetString());
    }

    [Fact]
    public void Parse_BadHttp2Fields_EveryErrorNamesFileLineAndField()
    {
        const string Bad = """
                http2:
                  max_concurrent_streams: 0
                  initial_stream_window_size: 1000
                  initial_connection_window_size: 4294967296
                  max_header_list_size: 16
                  hpack_table_size: -1
                  rate_interval: 0s
                  max_resets_per_interval: lots
                  send_stall_timeout: soon
                  max_frames: 5

            """;
        // The valid document with its http2 section swapped for this one.
        int start = Valid.IndexOf("    http2:", StringComparison.Ordinal), end = Valid.IndexOf("    virtual_hosts:", start, StringComparison.Ordinal);
        string yaml = Valid[..start] + Bad + Valid[end..];

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        Assert.All(e.Errors, x => Assert.Equal(File, x.File));
        var expected = new SortedSet<(string, int)>();
        foreach (string field in new[] { "max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size",
                     "max_header_list_size", "hpack_table_size", "rate_interval", "max_resets_per_interval", "send_stall_timeout", "max_frames" })
            expected.Add(($"listeners[0].http2.{field}", GatewayConfigLoaderTests.LineOf(yaml, field + ":")));
        Assert.Equal(expected, new SortedSet<(string, int)>(e.Errors.Select(x => (x.Path, x.Line))));
        Assert.Contains(e.Errors, x => x.Path == "listeners[0].http2.initial_stream_window_size" && x.Message.Contains("65535", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "listeners[0].http2.rate_interval" && x.Message.Contains("greater than zero", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "listeners[0].http2.max_frames" && x.Message.Contains("send_stall_timeout", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ConfigBuiltInCode_ZeroSendStallTimeoutNamed()
    {
        GatewayConfig config = GatewayConfigLoader.Parse(Valid, File);
        ListenerConfig bad = config.Listeners[0] with { Http2 = config.Listeners[0].Http2 with { SendStallTimeout = TimeSpan.Zero } };

        List<ConfigError> errors = GatewayConfigValidator.Validate(config with { Listeners = [bad, config.Listeners[1]] }, File);

        ConfigError error = Assert.Single(errors);
        Assert.Equal("listeners[0].http2.send_stall_timeout", error.Path);
    }
}
