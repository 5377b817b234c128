// The cluster fields behind the policies: lb_policy names, hash_policy and ring_size parse into ClusterConfig, every
// name builds its policy, and a mistake is reported with file, line and field path (STYLE.md, config errors).
using FastPath.Config;
using FastPath.LoadBalancing;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.LoadBalancing;

public class LoadBalancerConfigTests
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
            endpoints: ["127.0.0.1:9000", "127.0.0.1:9001"]
        """;

    public static TheoryData<string> PolicyNames => [.. GatewayConfigValidator.LbPolicies];

    [Theory]
    [MemberData(nameof(PolicyNames))]
    public void Parse_EachLbPolicy_ReadAndBuildable(string name)
    {
        GatewayConfig config = GatewayConfigLoader.Parse(Base + "\n    lb_policy: " + name, File);

        Assert.Equal(name, config.Clusters[0].LbPolicy);
        ILoadBalancingPolicy policy = LoadBalancingPolicies.Create(name, Endpoints(1, 2));
        Assert.Equal(name, policy.Name);
        Assert.NotNull(policy.Pick(Keyed(5)));
    }

    [Fact]
    public void LbPolicies_SixNames()
    {
        Assert.Equal(["least_request", "maglev", "peak_ewma", "random", "ring_hash", "round_robin"], GatewayConfigValidator.LbPolicies.Order());
    }

    [Fact]
    public void Create_UnknownName_Throws()
    {
        Assert.Throws<ArgumentException>(() => LoadBalancingPolicies.Create("fastest", Endpoints(1)));
    }

    [Fact]
    public void Create_RingHashWithMinRingSize_UsesIt()
    {
        var policy = (RingHashPolicy)LoadBalancingPolicies.Create("ring_hash", Endpoints(1, 1), new LoadBalancerOptions { MinRingSize = 4096 });
        Assert.Equal(4096, policy.RingSize);
    }

    [Theory]
    [InlineData("header: x-user-id", HashPolicyKind.Header, "x-user-id")]
    [InlineData("source_ip: true", HashPolicyKind.SourceIp, "")]
    [InlineData("query_parameter: session", HashPolicyKind.QueryParameter, "session")]
    [InlineData("cookie: SESSIONID", HashPolicyKind.Cookie, "SESSIONID")]
    public void Parse_HashPolicy_Read(string field, HashPolicyKind kind, string name)
    {
        string yaml = Base + "\n    lb_policy: ring_hash\n    ring_size: 4096\n    hash_policy:\n      " + field;

        ClusterConfig cluster = GatewayConfigLoader.Parse(yaml, File).Clusters[0];

        Assert.Equal(new HashPolicyConfig { Kind = kind, Name = name }, cluster.HashPolicy);
        Assert.Equal(4096, cluster.RingSize);
    }

    [Fact]
    public void Parse_NoHashPolicy_NullAndDefaultRingSize()
    {
        ClusterConfig cluster = GatewayConfigLoader.Parse(Base + "\n    lb_policy: maglev", File).Clusters[0];

        Assert.Null(cluster.HashPolicy);
        Assert.Equal(1024, cluster.RingSize);
    }

    [Theory]
    [InlineData("lb_policy: fastest", "lb_policy: fastest", "clusters[0].lb_policy", "unknown policy 'fastest'")]
    [InlineData("lb_policy: Ring_Hash", "lb_policy: Ring_Hash", "clusters[0].lb_policy", "unknown policy")]
    [InlineData("ring_size: 0", "ring_size: 0", "clusters[0].ring_size", "expected an integer")]
    [InlineData("ring_size: 9000000", "ring_size: 9000000", "clusters[0].ring_size", "expected an integer")]
    [InlineData("hash_policy: x-user", "hash_policy: x-user", "clusters[0].hash_policy", "expected a mapping")]
    [InlineData("hash_policy: {}", "hash_policy: {}", "clusters[0].hash_policy", "set one of")]
    [InlineData("hash_policy:\n      header: \"x user\"", "header: \"x user\"", "clusters[0].hash_policy.header", "invalid name 'x user'")]
    [InlineData("hash_policy:\n      header: \"\"", "header: \"\"", "clusters[0].hash_policy.header", "invalid name")]
    [InlineData("hash_policy:\n      cookie: \"a;b\"", "cookie: \"a;b\"", "clusters[0].hash_policy.cookie", "invalid name")]
    [InlineData("hash_policy:\n      query_parameter: \"\"", "query_parameter: \"\"", "clusters[0].hash_policy.query_parameter", "invalid name")]
    [InlineData("hash_policy:\n      source_ip: false", "source_ip: false", "clusters[0].hash_policy.source_ip", "expected true")]
    [InlineData("hash_policy:\n      header: x-a\n      cookie: b", "cookie: b", "clusters[0].hash_policy.cookie", "only one of")]
    [InlineData("hash_policy:\n      headr: x-a", "headr: x-a", "clusters[0].hash_policy.headr", "unknown field")]
    [InlineData("hash_policy:\n      header: [a, b]", "header: [a, b]", "clusters[0].hash_policy.header", "expected a single value")]
    public void Parse_BadLoadBalancerField_ErrorNamesFileLineAndPath(string field, string lineText, string path, string message)
    {
        string yaml = Base + "\n    " + field;

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal((File, LineOf(yaml, lineText), path), (error.File, error.Line, error.Path));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Contains($"{File}:{error.Line}:", e.Message, StringComparison.Ordinal);
    }

    private static int LineOf(string yaml, string text)
    {
        string[] lines = yaml.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains(text, StringComparison.Ordinal)) return i + 1;
        }
        throw new InvalidOperationException($"'{text}' not in the document");
    }
}
