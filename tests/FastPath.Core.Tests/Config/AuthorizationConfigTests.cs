// authorization_policies in the gateway YAML: read into records, and every mistake reported at once with file,
// line and field path (unknown fields and keys, CUSTOM, bad CIDRs, ports, methods, paths, empty sources).
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public sealed class AuthorizationConfigTests
{
    private const string File = "gateway.yaml";

    private const string Base = """
        listeners:
          - name: main
            address: 127.0.0.1
            port: 8080
            virtual_hosts: [{domains: ["*"], routes: [{cluster: web}]}]
        clusters:
          - name: web
            endpoints: ["127.0.0.1:9001"]

        """;

    [Fact]
    public void Parse_Policies_ReadIntoRecords()
    {
        GatewayConfig config = GatewayConfigLoader.Parse(Base + """
            num_trusted_proxies: 2
            authorization_policies:
              - name: deny-admin
                action: DENY
                rules:
                  - from:
                      - source: {principals: ["cluster.local/ns/a/sa/b"], not_principals: ["x"], namespaces: ["a"], not_namespaces: ["b"],
                                 ip_blocks: ["10.0.0.0/8"], not_ip_blocks: ["10.1.0.0/16"], remote_ip_blocks: ["1.2.3.4"],
                                 not_remote_ip_blocks: ["1.2.3.5"], request_principals: ["iss/sub"], not_request_principals: ["*/bad"]}
                    to:
                      - operation: {hosts: ["a.com"], not_hosts: ["b.com"], methods: [GET], not_methods: [POST], paths: ["/admin/*"],
                                    not_paths: ["/admin/ok"], ports: ["8080"], not_ports: [9090]}
                    when:
                      - key: "request.headers[x-token]"
                        values: ["abc"]
                        not_values: ["def"]
              - name: allow-nothing
            """, File);

        Assert.Equal(2, config.NumTrustedProxies);
        Assert.Equal(2, config.AuthorizationPolicies.Count);
        AuthorizationPolicyConfig deny = config.AuthorizationPolicies[0];
        Assert.Equal(("deny-admin", "DENY"), (deny.Name, deny.Action));
        AuthorizationRuleConfig rule = Assert.Single(deny.Rules!);
        AuthorizationSourceConfig source = Assert.Single(rule.From);
        Assert.Equal(["cluster.local/ns/a/sa/b"], source.Principals);
        Assert.Equal(["1.2.3.5"], source.NotRemoteIpBlocks);
        Assert.Equal(["*/bad"], source.NotRequestPrincipals);
        AuthorizationOperationConfig op = Assert.Single(rule.To);
        Assert.Equal(["9090"], op.NotPorts);
        Assert.Equal(["/admin/ok"], op.NotPaths);
        AuthorizationConditionConfig when = Assert.Single(rule.When);
        Assert.Equal(("request.headers[x-token]", "abc", "def"), (when.Key, when.Values[0], when.NotValues[0]));
        Assert.Null(config.AuthorizationPolicies[1].Rules); // absent rules: matches nothing
        Assert.Equal("ALLOW", config.AuthorizationPolicies[1].Action);
    }

    [Fact]
    public void Parse_Mistakes_AllReportedWithLineAndPath()
    {
        const string policies = """
            authorization_policies:
              - name: ext
                action: CUSTOM
              - name: ext
                action: allow
                rules:
                  - from: [{source: {ip_blocks: ["10.0.0.0/33", "nope"], principal: ["x"]}}]
                    to: [{operation: {ports: ["0", "http"], methods: ["GET POST"], paths: ["admin", "/a/{*}", "/a*b*"]}}]
                    when:
                      - {key: "request.header[x]", values: ["a"]}
                      - {key: "request.auth.claims[]", values: ["a"]}
                      - {key: source.ip, values: ["1.2.3.400"]}
                      - {key: destination.port, values: ["70000"]}
                      - {key: connection.sni}
                  - from: [{}]
                    to: [{operation: {}}]
              - action: DENY
            """;

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(Base + policies, File));
        string[] errors = e.Errors.Select(x => x.ToString()).ToArray();

        const string R = "authorization_policies[1].rules[0]";
        string[] expected =
        [
            "authorization_policies[0].action: CUSTOM (external authorization) is not supported",
            "authorization_policies[1].name: duplicate policy name 'ext'",
            "authorization_policies[1].action: unknown action 'allow'",
            $"{R}.from[0].source.principal: unknown field",
            $"{R}.from[0].source.ip_blocks[0]: invalid IP address or CIDR block '10.0.0.0/33'",
            $"{R}.from[0].source.ip_blocks[1]: invalid IP address or CIDR block 'nope'",
            $"{R}.to[0].operation.ports[0]: invalid port '0'",
            $"{R}.to[0].operation.ports[1]: invalid port 'http'",
            $"{R}.to[0].operation.methods[0]: invalid method 'GET POST'",
            $"{R}.to[0].operation.paths[0]: invalid path 'admin'",
            $"{R}.to[0].operation.paths[1]: path templates",
            $"{R}.to[0].operation.paths[2]: invalid path '/a*b*'",
            $"{R}.when[0].key: unknown key 'request.header[x]'",
            $"{R}.when[1].key: 'request.auth.claims[]'",
            $"{R}.when[2].values[0]: invalid IP address or CIDR block '1.2.3.400'",
            $"{R}.when[3].values[0]: invalid port '70000'",
            $"{R}.when[4]: a condition needs values or not_values",
            "authorization_policies[1].rules[1].from[0]: a from entry needs a source",
            "authorization_policies[1].rules[1].to[0].operation: an operation must set at least one field",
            "authorization_policies[2].name: a policy needs a name",
        ];
        foreach (string x in expected) Assert.Contains(errors, err => err.Contains(x, StringComparison.Ordinal));
        Assert.All(errors, err => Assert.Matches(@"^gateway\.yaml:\d+:\d+: ", err)); // each names file:line:col
        Assert.Equal(expected.Length, errors.Length);
    }

    [Fact]
    public void Parse_ErrorLine_PointsAtTheField()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(Base + """
            authorization_policies:
              - name: p
                rules:
                  - to: [{operation: {ports: ["99999"]}}]
            """, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal("authorization_policies[0].rules[0].to[0].operation.ports[0]", error.Path);
        Assert.Equal(12, error.Line); // Base is 8 lines; the ports line is the 4th of the block
    }

    [Fact]
    public void Parse_NumTrustedProxiesOutOfRange_Error()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(Base + "num_trusted_proxies: -1\n", File));

        Assert.Equal("num_trusted_proxies", Assert.Single(e.Errors).Path);
    }

    [Fact]
    public void Docs_AuthorizationExample_LoadsAndValidates()
    {
        string dir = AppContext.BaseDirectory;
        while (!System.IO.File.Exists(Path.Combine(dir, "FastPath.sln"))) dir = Path.GetDirectoryName(dir)!;
        string doc = System.IO.File.ReadAllText(Path.Combine(dir, "docs", "configuration.md"));
        int start = doc.IndexOf("```yaml\nnum_trusted_proxies", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/configuration.md lost its authorization example");
        start += "```yaml\n".Length;
        string yaml = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];

        GatewayConfig config = GatewayConfigLoader.Parse(Base + yaml, "configuration.md");

        AuthorizationPolicyConfig policy = Assert.Single(config.AuthorizationPolicies);
        Assert.Equal(2, Assert.Single(policy.Rules!).When.Count);
    }
}
