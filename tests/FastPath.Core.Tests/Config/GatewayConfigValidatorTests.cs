// GatewayConfigValidator on configs built in code (the path quick mode and the future control plane take): every
// semantic error at once, each with its field path.
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public class GatewayConfigValidatorTests
{
    private static readonly GatewayConfig Valid = new()
    {
        Listeners =
        [
            new ListenerConfig
            {
                Name = "public",
                Port = 8080,
                VirtualHosts = [new VirtualHostConfig { Routes = [new RouteConfig { Cluster = "web" }] }],
            },
        ],
        Clusters = [new ClusterConfig { Name = "web", Endpoints = [new EndpointConfig { Host = "127.0.0.1", Port = 9000 }] }],
    };

    [Fact]
    public void Validate_ValidConfig_NoErrors()
    {
        Assert.Empty(GatewayConfigValidator.Validate(Valid, "(config)"));
    }

    [Fact]
    public void Validate_ManyMistakes_AllReportedWithPaths()
    {
        GatewayConfig config = Valid with
        {
            Listeners =
            [
                Valid.Listeners[0] with
                {
                    VirtualHosts =
                    [
                        new VirtualHostConfig { Domains = ["a.example", "*"], Routes = [new RouteConfig { Cluster = "web" }] },
                        new VirtualHostConfig { Domains = ["A.EXAMPLE", "a*b"], Routes = [new RouteConfig { Cluster = "web", Timeout = TimeSpan.FromSeconds(-1) }] },
                    ],
                },
                Valid.Listeners[0] with { Address = "localhost" },
            ],
            Clusters =
            [
                Valid.Clusters[0],
                Valid.Clusters[0] with { LbPolicy = "fastest", ConnectTimeout = TimeSpan.Zero },
                new ClusterConfig { Name = "", Endpoints = [new EndpointConfig { Host = "bad host", Port = 0 }] },
            ],
            Limits = new LimitsConfig { Via = "two words", IdleTimeout = TimeSpan.Zero },
            Admin = new AdminConfig { Address = "localhost" },
            AccessLog = new AccessLogConfig { Path = " " },
        };

        List<ConfigError> errors = GatewayConfigValidator.Validate(config, "(config)");

        Assert.Equal(
        [
            "access_log.path",
            "admin.address",
            "clusters[1].connect_timeout",
            "clusters[1].lb_policy",
            "clusters[1].name",
            "clusters[2].endpoints[0]",
            "clusters[2].name",
            "limits.idle_timeout",
            "limits.via",
            "listeners[0].virtual_hosts[1].domains[0]",
            "listeners[0].virtual_hosts[1].domains[1]",
            "listeners[0].virtual_hosts[1].routes[0].timeout",
            "listeners[1].address",
            "listeners[1].name",
        ], errors.Select(e => e.Path).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(2, errors.Count(e => e.Path == "clusters[2].endpoints[0]")); // bad port and bad host
        Assert.All(errors, e => Assert.Equal("(config)", e.File));
    }

    // A config built in code has no positions: its errors must not claim one. ConfigError.ToString prints no line
    // for Line 0, which is what such errors should carry, not YamlDotNet's Mark.Empty (line 1, column 1).
    [Fact]
    public void Validate_WithoutPositions_ErrorsCarryNoLine()
    {
        List<ConfigError> errors = GatewayConfigValidator.Validate(Valid with { Listeners = [] }, "(config)");

        ConfigError error = Assert.Single(errors);
        Assert.Equal("(config): listeners: at least one listener is required", error.ToString());
    }

    [Theory]
    [InlineData("*", true)]
    [InlineData("example.com", true)]
    [InlineData("example.com:8080", true)]
    [InlineData("*.example.com", true)]
    [InlineData("*-api.example.com", true)]
    [InlineData("api*", true)]
    [InlineData("", false)]
    [InlineData("a b", false)]
    [InlineData("a*b", false)]
    [InlineData("**.example.com", false)]
    [InlineData("*.example.*", false)]
    public void IsValidDomainPattern_Patterns_AcceptsOnlyEnvoyForms(string pattern, bool valid)
    {
        Assert.Equal(valid, GatewayConfigValidator.IsValidDomainPattern(pattern));
    }
}
