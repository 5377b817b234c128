// GatewayConfigLoader.Parse: YAML in, immutable GatewayConfig out, or one ConfigException that lists every error
// with its file, line and field path (STYLE.md, config errors users see).
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public class GatewayConfigLoaderTests
{
    private const string File = "gateway.yaml";

    private const string Full = """
        admin:
          address: 127.0.0.2
          port: 9902
        limits:
          max_request_line_bytes: 4096
          max_header_bytes: 32768
          max_headers: 64
          header_read_timeout: 5s
          request_timeout: 30s
          idle_timeout: 2m
          stream_idle_timeout: 1h
          max_connections: 5000
          drain_timeout: 1500ms
          via: edge-1
        access_log:
          path: /var/log/fastpath/access.log
        listeners:
          - name: public
            address: 0.0.0.0
            port: 8080
            virtual_hosts:
              - name: shop
                domains: ["shop.example.com", "*.shop.example.com"]
                routes:
                  - prefix: /api/
                    cluster: api
                    timeout: 2.5s
                  - prefix: /
                    cluster: web
              - name: default
                domains: ["*"]
                routes:
                  - cluster: web
          - name: internal
            address: 127.0.0.1:9090
            virtual_hosts:
              - domains: ["internal*"]
                routes:
                  - prefix: /
                    cluster: api
                    timeout: 0
        clusters:
          - name: api
            connect_timeout: 250ms
            max_connections_per_endpoint: 64
            max_requests_per_connection: 100
            idle_timeout: 30s
            lb_policy: round_robin
            endpoints:
              - address: 127.0.0.1:9001
                weight: 3
              - address: "[::1]:9002"
          - name: web
            endpoints: ["127.0.0.1:9003", "localhost:9004"]
        """;

    private const string Minimal = """
        listeners:
          - name: public
            port: 8080
            virtual_hosts:
              - routes:
                  - cluster: web
        clusters:
          - name: web
            endpoints: ["127.0.0.1:9000"]
        """;

    [Fact]
    public void Parse_FullConfig_EveryFieldRead()
    {
        GatewayConfig config = GatewayConfigLoader.Parse(Full, File);

        Assert.Equal(Path.GetFullPath(File), config.SourcePath);
        Assert.Equal(new AdminConfig { Address = "127.0.0.2", Port = 9902 }, config.Admin);
        Assert.Equal(new LimitsConfig
        {
            MaxRequestLineBytes = 4096,
            MaxHeaderBytes = 32768,
            MaxHeaders = 64,
            HeaderReadTimeout = TimeSpan.FromSeconds(5),
            RequestTimeout = TimeSpan.FromSeconds(30),
            IdleTimeout = TimeSpan.FromMinutes(2),
            StreamIdleTimeout = TimeSpan.FromHours(1),
            MaxConnections = 5000,
            DrainTimeout = TimeSpan.FromMilliseconds(1500),
            Via = "edge-1",
        }, config.Limits);
        Assert.Equal("/var/log/fastpath/access.log", config.AccessLog.Path);

        Assert.Equal(2, config.Listeners.Count);
        ListenerConfig pub = config.Listeners[0];
        Assert.Equal(("public", "0.0.0.0", 8080), (pub.Name, pub.Address, pub.Port));
        Assert.Equal(2, pub.VirtualHosts.Count);
        VirtualHostConfig shop = pub.VirtualHosts[0];
        Assert.Equal("shop", shop.Name);
        Assert.Equal(["shop.example.com", "*.shop.example.com"], shop.Domains);
        Assert.Equal(new RouteConfig { Prefix = "/api/", Cluster = "api", Timeout = TimeSpan.FromMilliseconds(2500) }, shop.Routes[0]);
        Assert.Equal(new RouteConfig { Prefix = "/", Cluster = "web", Timeout = TimeSpan.FromSeconds(15) }, shop.Routes[1]);
        Assert.Equal(new RouteConfig { Prefix = "/", Cluster = "web" }, pub.VirtualHosts[1].Routes.Single());

        ListenerConfig internalListener = config.Listeners[1];
        Assert.Equal(("internal", "127.0.0.1", 9090), (internalListener.Name, internalListener.Address, internalListener.Port));
        Assert.Equal("", internalListener.VirtualHosts[0].Name);
        Assert.Equal(TimeSpan.Zero, internalListener.VirtualHosts[0].Routes[0].Timeout);

        Assert.Equal(2, config.Clusters.Count);
        ClusterConfig api = config.Clusters[0];
        Assert.Equal("api", api.Name);
        Assert.Equal(TimeSpan.FromMilliseconds(250), api.ConnectTimeout);
        Assert.Equal(64, api.MaxConnectionsPerEndpoint);
        Assert.Equal(100, api.MaxRequestsPerConnection);
        Assert.Equal(0, config.Clusters[1].MaxRequestsPerConnection); // default: no limit
        Assert.Equal(TimeSpan.FromSeconds(30), api.IdleTimeout);
        Assert.Equal("round_robin", api.LbPolicy);
        Assert.Equal([new EndpointConfig { Host = "127.0.0.1", Port = 9001, Weight = 3 }, new EndpointConfig { Host = "::1", Port = 9002 }],
            api.Endpoints);
        Assert.Equal("[::1]:9002", api.Endpoints[1].ToString());
        Assert.Equal([new EndpointConfig { Host = "127.0.0.1", Port = 9003 }, new EndpointConfig { Host = "localhost", Port = 9004 }],
            config.Clusters[1].Endpoints);
    }

    [Fact]
    public void Parse_MinimalConfig_RecordDefaultsApply()
    {
        GatewayConfig config = GatewayConfigLoader.Parse(Minimal, File);

        Assert.Equal(new AdminConfig(), config.Admin);
        Assert.Equal(("127.0.0.1", 9901), (config.Admin.Address, config.Admin.Port));
        Assert.Equal(new LimitsConfig(), config.Limits);
        Assert.Equal((8192, 61440, 100), (config.Limits.MaxRequestLineBytes, config.Limits.MaxHeaderBytes, config.Limits.MaxHeaders));
        Assert.Null(config.Limits.Via);
        Assert.Equal("off", config.AccessLog.Path);
        ListenerConfig listener = config.Listeners.Single();
        Assert.Equal("127.0.0.1", listener.Address);
        Assert.Equal(["*"], listener.VirtualHosts.Single().Domains);
        Assert.Equal(new RouteConfig { Cluster = "web" }, listener.VirtualHosts.Single().Routes.Single());
        Assert.Equal("/", listener.VirtualHosts.Single().Routes.Single().Prefix);
        Assert.Equal(TimeSpan.FromSeconds(15), listener.VirtualHosts.Single().Routes.Single().Timeout);
        ClusterConfig cluster = config.Clusters.Single();
        Assert.Equal((TimeSpan.FromSeconds(5), 1024, TimeSpan.FromSeconds(60), "round_robin"),
            (cluster.ConnectTimeout, cluster.MaxConnectionsPerEndpoint, cluster.IdleTimeout, cluster.LbPolicy));
        Assert.Equal(1, cluster.Endpoints.Single().Weight);
    }

    [Fact]
    public void Parse_ManyMistakes_AllReportedAtOnceWithFileLineAndPath()
    {
        const string yaml = """
            admin:
              port: 9901
              colour: blue
            listeners:
              - name: public
                address: 127.0.0.1
                port: 8080
                virtual_hosts:
                  - name: default
                    domains: ["*"]
                    routes:
                      - prefix: api
                        cluster: web
                      - prefix: /x/
                        cluster: missing
                        timeout: soon
              - name: second
                address: 127.0.0.1
                port: 8080
                virtual_hosts:
                  - routes:
                      - cluster: web
              - name: third
                port: 70000
                virtual_hosts:
                  - routes:
                      - cluster: web
            clusters:
              - name: web
                endpoints: ["127.0.0.1:9003"]
              - name: empty
                endpoints: []
              - name: typo
                endpoints: ["127.0.0.1:9004"]
                conect_timeout: 1s
            """;

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        Assert.All(e.Errors, error => Assert.Equal(File, error.File));
        var expected = new SortedSet<(string, int)>
        {
            ("admin.colour", LineOf(yaml, "colour: blue")),
            ("listeners[0].virtual_hosts[0].routes[0].prefix", LineOf(yaml, "prefix: api")),
            ("listeners[0].virtual_hosts[0].routes[1].cluster", LineOf(yaml, "cluster: missing")),
            ("listeners[0].virtual_hosts[0].routes[1].timeout", LineOf(yaml, "timeout: soon")),
            ("listeners[1].port", LineOf(yaml, "port: 8080", occurrence: 2)),
            ("listeners[2].port", LineOf(yaml, "port: 70000")),
            ("clusters[1].endpoints", LineOf(yaml, "endpoints: []")),
            ("clusters[2].conect_timeout", LineOf(yaml, "conect_timeout")),
        };
        Assert.Equal(expected, new SortedSet<(string, int)>(e.Errors.Select(x => (x.Path, x.Line))));
        Assert.Contains("gateway.yaml:3:3: admin.colour: unknown field", e.Message, StringComparison.Ordinal);
        Assert.Contains(e.Errors, x => x.Path == "listeners[0].virtual_hosts[0].routes[1].cluster" && x.Message.Contains("'missing'", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "listeners[1].port" && x.Message.Contains("127.0.0.1:8080", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("connect_timeout: 10 seconds", "clusters[0].connect_timeout")]
    [InlineData("connect_timeout: -1s", "clusters[0].connect_timeout")]
    [InlineData("max_connections_per_endpoint: 0", "clusters[0].max_connections_per_endpoint")]
    [InlineData("lb_policy: fastest", "clusters[0].lb_policy")]
    [InlineData("endpoints: [\"127.0.0.1\"]", "clusters[0].endpoints[0]")]
    [InlineData("endpoints: [\"127.0.0.1:0\"]", "clusters[0].endpoints[0]")]
    [InlineData("endpoints: [\"bad host:80\"]", "clusters[0].endpoints[0]")]
    [InlineData("endpoints: [{address: \"127.0.0.1:80\", weight: 0}]", "clusters[0].endpoints[0].weight")]
    [InlineData("endpoints: 127.0.0.1:80", "clusters[0].endpoints")]
    public void Parse_BadClusterField_ErrorOnThatLine(string field, string path)
    {
        string yaml = """
            listeners:
              - name: public
                port: 8080
                virtual_hosts:
                  - routes:
                      - cluster: web
            clusters:
              - name: web
                endpoints: ["127.0.0.1:9000"]
            """;
        string key = field[..field.IndexOf(':', StringComparison.Ordinal)];
        yaml = key == "endpoints"
            ? yaml.Replace("endpoints: [\"127.0.0.1:9000\"]", field, StringComparison.Ordinal)
            : yaml + "\n    " + field;

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        Assert.Contains(e.Errors, x => x.Path == path && x.Line == LineOf(yaml, field) && x.File == File);
        Assert.All(e.Errors, x => Assert.Equal(LineOf(yaml, field), x.Line));
    }

    [Theory]
    [InlineData("port: 8080: 9", 5)]
    [InlineData("port: \"8080", 5)]
    [InlineData("- item", 5)]
    [InlineData("port: 1\n    port: 2", 6)]
    public void Parse_YamlSyntaxError_OneErrorAtTheLine(string lines, int line)
    {
        string yaml = "admin:\n  port: 9901\nlisteners:\n  - name: a\n    " + lines + "\n";

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal((File, line, "(document)"), (error.File, error.Line, error.Path));
        Assert.StartsWith($"{File}:{line}:", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("- a\n- b\n")]
    [InlineData("just a string")]
    public void Parse_NotAMapping_DocumentError(string yaml)
    {
        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        Assert.Equal("(document)", Assert.Single(e.Errors).Path);
    }

    [Fact]
    public void Parse_NoListeners_Error()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse("admin:\n  port: -1\n", File));

        Assert.Equal("listeners", Assert.Single(e.Errors).Path);
    }

    // A duration too large for TimeSpan (or "NaN") must be a config error like any other bad duration, not an
    // OverflowException/ArgumentException escaping Parse: a reload would otherwise die outside the ConfigException
    // handler in ConfigFileWatcher, and startup would show a stack trace instead of file:line: path.
    [Theory]
    [InlineData("1e300")]
    [InlineData("99999999999999s")]
    [InlineData("NaN")]
    public void Parse_DurationOutOfRange_ConfigErrorNotCrash(string value)
    {
        string yaml = Minimal.Replace("- cluster: web", "- cluster: web\n            timeout: " + value, StringComparison.Ordinal);

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal(("listeners[0].virtual_hosts[0].routes[0].timeout", LineOf(yaml, "timeout:")), (error.Path, error.Line));
    }

    // A required field that is absent has no position of its own; its error must point at the item that lacks it,
    // not at line 1 column 1 of the file (what YamlDotNet's Mark.Empty says).
    [Fact]
    public void Parse_ClusterWithoutEndpoints_ErrorPointsAtCluster()
    {
        string yaml = Minimal + "\n  - name: empty\n    lb_policy: round_robin\n";

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal("clusters[1].endpoints", error.Path);
        Assert.Equal(LineOf(yaml, "- name: empty"), error.Line);
    }

    [Fact]
    public void Parse_ListenerWithoutPort_ErrorPointsAtListener()
    {
        const string yaml = """
            listeners:
              - name: public
                port: 8080
                virtual_hosts:
                  - routes:
                      - cluster: web
              - name: no-port
                virtual_hosts:
                  - routes:
                      - cluster: web
            clusters:
              - name: web
                endpoints: ["127.0.0.1:9000"]
            """;

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal("listeners[1].port", error.Path);
        Assert.Equal(LineOf(yaml, "- name: no-port"), error.Line);
    }

    /// <summary>1-based line of the <paramref name="occurrence"/>-th line containing <paramref name="text"/>.</summary>
    /// <summary>The 1-based line of the <paramref name="occurrence"/>th line containing <paramref name="text"/> (shared by the config tests).</summary>
    internal static int LineOf(string yaml, string text, int occurrence = 1)
    {
        string[] lines = yaml.Split('\n');
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].Contains(text, StringComparison.Ordinal) && --occurrence == 0) return i + 1;
        throw new ArgumentException($"'{text}' not in the document", nameof(text));
    }
}
