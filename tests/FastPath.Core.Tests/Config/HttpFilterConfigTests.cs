// The filter fields of virtual hosts and routes: every field read from YAML, and every mistake reported at once with
// file, line and field path (unknown fields, ranges, proxy-owned headers, unknown mirror clusters, bad regexes).
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public class HttpFilterConfigTests
{
    private const string File = "gateway.yaml";

    private static string Yaml(string hostFields, string routeFields) => $$"""
        listeners:
          - name: public
            port: 8080
            virtual_hosts:
              - name: shop
                domains: ["*"]
        {{Indent(hostFields, 8)}}
                routes:
                  - prefix: /
                    cluster: web
        {{Indent(routeFields, 12)}}
        clusters:
          - name: web
            endpoints: ["127.0.0.1:9000"]
          - name: shadow
            endpoints: ["127.0.0.1:9001"]
        """;

    private static string Indent(string text, int spaces) =>
        string.Join("\n", text.Split('\n').Select(l => new string(' ', spaces) + l));

    [Fact]
    public void Parse_EveryFilterField_Read()
    {
        GatewayConfig config = GatewayConfigLoader.Parse(Yaml("""
            rate_limit: {max_tokens: 100, tokens_per_fill: 50, fill_interval: 1s, enable_x_ratelimit_headers: DRAFT_VERSION_03}
            cors:
              allow_origins: [{exact: "https://a.example"}, {prefix: "https://dev-"}, {regex: "https://.*\\.example"}]
              allow_methods: [GET, POST]
              allow_headers: [authorization]
              expose_headers: [x-trace]
              max_age: 24h
              allow_credentials: true
            """, """
            request_headers: {set: {x-env: canary}, add: {x-tag: a}, remove: [x-debug]}
            response_headers: {set: {x-served-by: fastpath}}
            fault: {delay: {fixed_delay: 5s, percentage: 10}, abort: {http_status: 503, percentage: {value: 0.5}}}
            mirror: {cluster: shadow, percentage: 25, max_in_flight: 8, timeout: 2s, max_body_bytes: 1024}
            """), File);

        VirtualHostConfig host = config.Listeners[0].VirtualHosts[0];
        RateLimitConfig rl = host.Filters.RateLimit!;
        Assert.Equal((100, 50, TimeSpan.FromSeconds(1), true), (rl.MaxTokens, rl.TokensPerFill, rl.FillInterval, rl.ResponseHeaders));
        CorsConfig cors = host.Filters.Cors!;
        Assert.Equal([new StringMatchConfig(StringMatchKind.Exact, "https://a.example"), new StringMatchConfig(StringMatchKind.Prefix, "https://dev-"),
            new StringMatchConfig(StringMatchKind.Regex, @"https://.*\.example")], cors.AllowOrigins);
        Assert.Equal(["GET", "POST"], cors.AllowMethods);
        Assert.Equal(["authorization"], cors.AllowHeaders);
        Assert.Equal(["x-trace"], cors.ExposeHeaders);
        Assert.Equal(TimeSpan.FromHours(24), cors.MaxAge);
        Assert.True(cors.AllowCredentials);

        HttpFiltersConfig route = host.Routes[0].Filters;
        Assert.Equal([new KeyValuePair<string, string>("x-env", "canary")], route.RequestHeaders!.Set);
        Assert.Equal([new KeyValuePair<string, string>("x-tag", "a")], route.RequestHeaders.Add);
        Assert.Equal(["x-debug"], route.RequestHeaders.Remove);
        Assert.Equal([new KeyValuePair<string, string>("x-served-by", "fastpath")], route.ResponseHeaders!.Set);
        Assert.Equal(new FaultDelayConfig { FixedDelay = TimeSpan.FromSeconds(5), Percentage = 10 }, route.Fault!.Delay);
        Assert.Equal(new FaultAbortConfig { HttpStatus = 503, Percentage = 0.5 }, route.Fault.Abort);
        Assert.Equal(new MirrorConfig { Cluster = "shadow", Percentage = 25, MaxInFlight = 8, Timeout = TimeSpan.FromSeconds(2), MaxBodyBytes = 1024 }, route.Mirror);
        Assert.Null(route.Cors);
    }

    [Fact]
    public void Parse_NoFilterFields_ConfigsStayEmpty()
    {
        GatewayConfig config = GatewayConfigLoader.Parse(Yaml("", ""), File);
        Assert.Same(HttpFiltersConfig.None, config.Listeners[0].VirtualHosts[0].Filters);
        Assert.Same(HttpFiltersConfig.None, config.Listeners[0].VirtualHosts[0].Routes[0].Filters);
    }

    [Fact]
    public void Parse_ManyMistakes_AllReportedWithLineAndPath()
    {
        var e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(Yaml("""
            rate_limit: {max_tokens: 0, fill_interval: 10ms}
            cors: {allow_origins: [{regex: "(unclosed"}], allow_methods: ["GE T"]}
            """, """
            request_headers: {set: {host: evil}, remove: [content-length], add: {"bad name": x}}
            fault: {abort: {http_status: 700, percentage: 150}, delay: {fixed_delay: 1s, typo: 1}}
            mirror: {cluster: nowhere, max_body_bytes: -1}
            """), File));

        string[] paths = e.Errors.Select(x => x.Path).ToArray();
        string prefix = "listeners[0].virtual_hosts[0]";
        Assert.Contains($"{prefix}.rate_limit.max_tokens", paths);
        Assert.Contains($"{prefix}.rate_limit.fill_interval", paths);
        Assert.Contains($"{prefix}.cors.allow_origins[0].regex", paths);
        Assert.Contains($"{prefix}.cors.allow_methods[0]", paths);
        Assert.Contains($"{prefix}.routes[0].request_headers.set.host", paths);
        Assert.Contains($"{prefix}.routes[0].request_headers.remove[0]", paths);
        Assert.Contains($"{prefix}.routes[0].request_headers.add.bad name", paths);
        Assert.Contains($"{prefix}.routes[0].fault.abort.http_status", paths);
        Assert.Contains($"{prefix}.routes[0].fault.abort.percentage", paths);
        Assert.Contains($"{prefix}.routes[0].fault.delay.typo", paths);
        Assert.Contains($"{prefix}.routes[0].mirror.cluster", paths);
        Assert.Contains($"{prefix}.routes[0].mirror.max_body_bytes", paths);
        Assert.All(e.Errors, x => Assert.Equal(File, x.File));
        Assert.All(e.Errors, x => Assert.True(x.Line > 0, $"{x.Path} has no line"));
        ConfigError mirror = e.Errors.Single(x => x.Path.EndsWith("mirror.cluster", StringComparison.Ordinal));
        Assert.Contains("unknown cluster 'nowhere'", mirror.Message);
    }

    [Fact]
    public void Parse_MirrorWithoutMaxBodyBytes_DefaultsTo64KiB_ZeroAllowed()
    {
        MirrorConfig byDefault = GatewayConfigLoader.Parse(Yaml("", "mirror: {cluster: shadow}"), File).Listeners[0].VirtualHosts[0].Routes[0].Filters.Mirror!;
        MirrorConfig zero = GatewayConfigLoader.Parse(Yaml("", "mirror: {cluster: shadow, max_body_bytes: 0}"), File).Listeners[0].VirtualHosts[0].Routes[0].Filters.Mirror!;

        Assert.Equal(64 * 1024, byDefault.MaxBodyBytes);
        Assert.Equal(0, zero.MaxBodyBytes);
    }

    [Fact]
    public void Validate_MirrorMaxBodyBytesOutOfRange_ReportedWithPath()
    {
        var errors = new List<(string Path, string Message)>();
        var config = new HttpFiltersConfig { Mirror = new MirrorConfig { Cluster = "shadow", MaxBodyBytes = MirrorConfig.MaxBodyBytesLimit + 1 } };

        HttpFilterConfigValidator.Validate(config, "routes[0]", new HashSet<string> { "shadow" }, (path, message) => errors.Add((path, message)));

        Assert.Contains(errors, e => e.Path == "routes[0].mirror.max_body_bytes");
    }

    [Fact]
    public void Parse_ResponseHeaderHostAllowed_ButFramingFieldsNot()
    {
        GatewayConfigLoader.Parse(Yaml("", "response_headers: {set: {host: ok}}"), File);
        var e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(Yaml("", "response_headers: {set: {transfer-encoding: chunked}}"), File));
        Assert.Contains(e.Errors, x => x.Path.EndsWith("response_headers.set.transfer-encoding", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_HeaderValueWithNewline_Rejected()
    {
        // YAML can carry a newline in a double-quoted value: it would split the field on the wire.
        var e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(Yaml("", "request_headers: {set: {x-a: \"one\\r\\nx-injected: two\"}}"), File));
        Assert.Contains(e.Errors, x => x.Path.EndsWith("request_headers.set.x-a", StringComparison.Ordinal) && x.Message.Contains("control characters"));
    }
}
