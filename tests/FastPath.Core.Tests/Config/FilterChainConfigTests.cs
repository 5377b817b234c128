// filter_chains in the gateway YAML: read into FilterChainConfig, and every mistake reported with file, line and
// field path (unknown cluster, bad CIDR, two chains matching the same connections, chains' own virtual hosts).
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public sealed class FilterChainConfigTests
{
    private const string File = "gateway.yaml";

    private const string Valid = """
        listeners:
          - name: edge
            address: 127.0.0.1
            port: 8443
            listener_filters_timeout: 5s
            continue_on_listener_filters_timeout: true
            virtual_hosts:
              - domains: ["*"]
                routes:
                  - cluster: web
            filter_chains:
              - name: passthrough-a
                match:
                  server_names: ["a.example.com", "*.a.example.com"]
                  transport_protocol: tls
                tcp_proxy:
                  cluster: a
                  idle_timeout: 30s
              - name: split
                match:
                  server_names: ["b.example.com"]
                  application_protocols: ["h2", "http/1.1"]
                  source_prefix_ranges: ["10.0.0.0/8"]
                  destination_port: 8443
                tcp_proxy:
                  weighted_clusters:
                    - cluster: a
                      weight: 3
                    - cluster: web
                      weight: 1
              - name: plain-http
                match:
                  transport_protocol: raw_buffer
                virtual_hosts:
                  - domains: ["api.example.com"]
                    routes:
                      - prefix: /
                        cluster: web
        clusters:
          - name: a
            endpoints: ["127.0.0.1:9001"]
          - name: web
            endpoints: ["127.0.0.1:9002"]
        """;

    [Fact]
    public void Parse_FilterChains_ReadIntoRecords()
    {
        GatewayConfig config = GatewayConfigLoader.Parse(Valid, File);

        ListenerConfig l = Assert.Single(config.Listeners);
        Assert.Equal(TimeSpan.FromSeconds(5), l.ListenerFiltersTimeout);
        Assert.True(l.ContinueOnListenerFiltersTimeout);
        Assert.Equal(3, l.FilterChains.Count);
        FilterChainConfig a = l.FilterChains[0];
        Assert.Equal("passthrough-a", a.Name);
        Assert.Equal(["a.example.com", "*.a.example.com"], a.Match.ServerNames);
        Assert.Equal("tls", a.Match.TransportProtocol);
        Assert.Equal("a", a.TcpProxy!.Cluster);
        Assert.Equal(TimeSpan.FromSeconds(30), a.TcpProxy.IdleTimeout);
        FilterChainConfig split = l.FilterChains[1];
        Assert.Equal(["h2", "http/1.1"], split.Match.ApplicationProtocols);
        Assert.Equal(["10.0.0.0/8"], split.Match.SourcePrefixRanges);
        Assert.Equal(8443, split.Match.DestinationPort);
        Assert.Equal([("a", 3), ("web", 1)], split.TcpProxy!.WeightedClusters.Select(w => (w.Cluster, w.Weight)));
        Assert.Equal(TimeSpan.FromHours(1), split.TcpProxy.IdleTimeout); // Envoy's default
        Assert.Null(l.FilterChains[2].TcpProxy);
        Assert.Equal("api.example.com", Assert.Single(Assert.Single(l.FilterChains[2].VirtualHosts).Domains));
    }

    [Fact]
    public void LoadFile_L4Example_Valid()
    {
        string dir = AppContext.BaseDirectory;
        while (!System.IO.File.Exists(Path.Combine(dir, "FastPath.sln"))) dir = Path.GetDirectoryName(dir)!;

        GatewayConfig config = GatewayConfigLoader.LoadFile(Path.Combine(dir, "examples", "l4-gateway.yaml"));

        Assert.Equal([2, 1], config.Listeners.Select(l => l.FilterChains.Count));
    }

    [Fact]
    public void Parse_ListenerWithOnlyFilterChains_Valid()
    {
        const string yaml = """
            listeners:
              - name: tcp
                port: 9000
                filter_chains:
                  - name: all
                    tcp_proxy: {cluster: a}
            clusters:
              - name: a
                endpoints: ["127.0.0.1:9001"]
            """;

        ListenerConfig l = Assert.Single(GatewayConfigLoader.Parse(yaml, File).Listeners);

        Assert.Empty(l.VirtualHosts);
        Assert.False(Assert.Single(l.FilterChains).Match.NeedsTlsInspector);
    }

    [Fact]
    public void Parse_Mistakes_EachReportedWithLineAndPath()
    {
        const string yaml = """
            listeners:
              - name: edge
                port: 8443
                filter_chains:
                  - name: one
                    match:
                      server_names: ["a.example.com"]
                      source_prefix_ranges: ["10.0.0.0/33"]
                    tcp_proxy:
                      cluster: nope
                  - name: two
                    match:
                      server_names: ["a.example.com"]
                      transport_protocol: quic
                    tcp_proxy:
                      cluster: a
                  - name: three
                    match:
                      server_names: ["a.example.com"]
                    tcp_proxy:
                      cluster: a
                  - name: three
                    match:
                      server_names: ["bad name", "*"]
                      application_protocols: [""]
                    tcp_proxy:
                      cluster: a
                      weighted_clusters: [{cluster: a, weight: 1}]
                  - name: empty
                    match: {sni: x}
                  - name: http
                    virtual_hosts:
                      - domains: ["*"]
                        routes:
                          - prefix: nope
                            cluster: missing
            clusters:
              - name: a
                endpoints: ["127.0.0.1:9001"]
            """;

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));
        string[] messages = [.. e.Errors.Select(x => x.ToString())];

        Assert.Contains("gateway.yaml:8:34: listeners[0].filter_chains[0].match.source_prefix_ranges[0]: invalid CIDR range '10.0.0.0/33' (such as 10.0.0.0/8 or 2001:db8::/32)", messages);
        Assert.Contains("gateway.yaml:10:20: listeners[0].filter_chains[0].tcp_proxy.cluster: unknown cluster 'nope'", messages);
        Assert.Contains("gateway.yaml:14:31: listeners[0].filter_chains[1].match.transport_protocol: unknown transport protocol 'quic' (tls or raw_buffer)", messages);
        Assert.Contains("gateway.yaml:22:15: listeners[0].filter_chains[3].name: duplicate filter chain name 'three' on this listener", messages);
        Assert.Contains("gateway.yaml:24:26: listeners[0].filter_chains[3].match.server_names[0]: invalid server name 'bad name' (an exact DNS name or '*.suffix')", messages);
        Assert.Contains("gateway.yaml:24:38: listeners[0].filter_chains[3].match.server_names[1]: invalid server name '*' (an exact DNS name or '*.suffix')", messages);
        Assert.Contains("gateway.yaml:25:35: listeners[0].filter_chains[3].match.application_protocols[0]: invalid ALPN protocol ''", messages);
        Assert.Contains("gateway.yaml:27:11: listeners[0].filter_chains[3].tcp_proxy: tcp_proxy needs exactly one of cluster or weighted_clusters", messages);
        Assert.Contains(messages, m => m.StartsWith("gateway.yaml:30:17: listeners[0].filter_chains[4].match.sni: unknown field", StringComparison.Ordinal));
        Assert.Contains("gateway.yaml:29:9: listeners[0].filter_chains[4]: a filter chain needs tcp_proxy or virtual_hosts", messages);
        // The chain's virtual hosts are checked by the listener rules, at the chain's own paths.
        Assert.Contains("gateway.yaml:35:25: listeners[0].filter_chains[5].virtual_hosts[0].routes[0].prefix: a path prefix starts with '/', got 'nope'", messages);
        Assert.Contains("gateway.yaml:36:26: listeners[0].filter_chains[5].virtual_hosts[0].routes[0].cluster: unknown cluster 'missing'", messages);
        // Chains 4 and 5 both match everything (4's only criterion was unknown); chain 2's name is valid but claimed
        // by no other chain whose criteria are valid.
        Assert.Contains("gateway.yaml:31:9: listeners[0].filter_chains[5].match: matches the same connections as filter chain 'empty' (filter_chains[4]): one of them could never be chosen", messages);
        Assert.Equal(13, messages.Length);
    }

    [Fact]
    public void Parse_TwoChainsSameMatch_DuplicateReportedAtMatch()
    {
        const string yaml = """
            listeners:
              - name: edge
                port: 8443
                filter_chains:
                  - name: first
                    match:
                      server_names: ["a.example.com", "b.example.com"]
                    tcp_proxy: {cluster: a}
                  - name: second
                    match:
                      server_names: ["b.example.com"]
                    tcp_proxy: {cluster: a}
            clusters:
              - name: a
                endpoints: ["127.0.0.1:9001"]
            """;

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal("gateway.yaml:11:11: listeners[0].filter_chains[1].match: matches the same connections as filter chain 'first' (filter_chains[0]): one of them could never be chosen",
            error.ToString());
    }

    [Fact]
    public void Parse_ListenerWithNeitherVirtualHostsNorChains_Error()
    {
        const string yaml = """
            listeners:
              - name: edge
                port: 8443
            clusters:
              - name: a
                endpoints: ["127.0.0.1:9001"]
            """;

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        Assert.Equal("listeners[0].virtual_hosts", Assert.Single(e.Errors).Path);
    }
}
