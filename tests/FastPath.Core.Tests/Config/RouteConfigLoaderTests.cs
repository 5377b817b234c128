// Routes in the gateway YAML: every match kind and action reads into RouteConfig, and every mistake is reported at
// once with its file, line and field path.
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public class RouteConfigLoaderTests
{
    private const string File = "gateway.yaml";

    private static string WithRoutes(string routes) => $"""
        listeners:
          - name: public
            port: 8080
            virtual_hosts:
              - name: all
                routes:
        {routes}
        clusters:
          - name: v1
            endpoints: ["127.0.0.1:9001"]
          - name: v2
            endpoints: ["127.0.0.1:9002"]
        """;

    private static IReadOnlyList<RouteConfig> Routes(string routes) =>
        GatewayConfigLoader.Parse(WithRoutes(routes), File).Listeners[0].VirtualHosts[0].Routes;

    private static ConfigException Errors(string routes) =>
        Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(WithRoutes(routes), File));

    [Fact]
    public void Parse_FullMatch_EveryPart()
    {
        RouteConfig r = Assert.Single(Routes("""
                  - name: users
                    match:
                      regex: "/users/[0-9]+"
                      case_sensitive: false
                      methods: [GET, HEAD]
                      headers:
                        - {name: x-env, exact: canary}
                        - {name: x-debug, present: true, invert: true}
                        - {name: ua, suffix: bot, invert: false}
                        - {name: x-old, absent: true}
                      query_params:
                        - {name: v, regex: "[0-9]+"}
                        - {name: debug, present: true}
                    cluster: v1
        """));

        Assert.Equal("users", r.Name);
        Assert.Null(r.Match.Prefix);
        Assert.Equal("/users/[0-9]+", r.Match.Regex);
        Assert.False(r.Match.CaseSensitive);
        Assert.Equal(["GET", "HEAD"], r.Match.Methods);
        Assert.Equal(new HeaderMatchConfig { Name = "x-env", Exact = "canary" }, r.Match.Headers[0]);
        Assert.Equal(new HeaderMatchConfig { Name = "x-debug", Present = true, Invert = true }, r.Match.Headers[1]);
        Assert.Equal(new HeaderMatchConfig { Name = "ua", Suffix = "bot" }, r.Match.Headers[2]);
        Assert.Equal(new HeaderMatchConfig { Name = "x-old", Absent = true }, r.Match.Headers[3]);
        Assert.Equal(new QueryParamMatchConfig { Name = "v", Regex = "[0-9]+" }, r.Match.QueryParams[0]);
        Assert.Equal(new QueryParamMatchConfig { Name = "debug", Present = true }, r.Match.QueryParams[1]);
    }

    [Fact]
    public void Parse_Actions_EachKind()
    {
        IReadOnlyList<RouteConfig> routes = Routes("""
                  - match: {path: /split}
                    weighted_clusters:
                      - {cluster: v1, weight: 90}
                      - {cluster: v2, weight: 10}
                    rewrite: {prefix: /, host: backend.internal}
                  - prefix: /old/
                    redirect: {scheme: https, host: new.example, port: 8443, prefix_rewrite: /new/, response_code: 308, strip_query: true}
                  - match: {prefix: /health}
                    direct_response: {status: 200, body: "ok"}
                  - prefix: /svc/
                    cluster: v1
                    rewrite:
                      regex: {pattern: "^/svc/(.*)$", substitution: "/\\1"}
        """);

        Assert.Equal("/split", routes[0].Match.Path);
        Assert.Null(routes[0].Match.Prefix);
        Assert.Equal([new WeightedClusterConfig { Cluster = "v1", Weight = 90 }, new WeightedClusterConfig { Cluster = "v2", Weight = 10 }], routes[0].WeightedClusters!);
        Assert.Equal(new RewriteConfig { Prefix = "/", Host = "backend.internal" }, routes[0].Rewrite);
        Assert.Equal(new RedirectConfig { Scheme = "https", Host = "new.example", Port = 8443, PrefixRewrite = "/new/", ResponseCode = 308, StripQuery = true },
            routes[1].Redirect);
        Assert.Equal("/old/", routes[1].Match.Prefix);
        Assert.Equal(new DirectResponseConfig { Status = 200, Body = "ok" }, routes[2].DirectResponse);
        Assert.Equal(new RegexRewriteConfig { Pattern = "^/svc/(.*)$", Substitution = "/\\1" }, routes[3].Rewrite!.Regex);
    }

    [Fact]
    public void Parse_MatchWithoutPathKind_MatchesEveryPath()
    {
        RouteConfig r = Assert.Single(Routes("""
                  - match: {methods: [POST]}
                    cluster: v1
        """));

        Assert.Equal("/", r.Match.Prefix);
    }

    [Theory]
    [InlineData("match: {prefix: /a, path: /a}", "routes[0].match", "only one of prefix, path, regex")]
    [InlineData("match: {regex: \"/a(\"}", "routes[0].match.regex", "invalid regex")]
    [InlineData("match: {regex: \"(a)\\\\1\"}", "routes[0].match.regex", "invalid regex")]   // backreference: NonBacktracking rejects
    [InlineData("match: {path: a}", "routes[0].match.path", "starts with '/'")]
    [InlineData("prefix: api", "routes[0].prefix", "starts with '/'")]
    [InlineData("match: {methods: [\"GE T\"]}", "routes[0].match.methods[0]", "invalid method")]
    [InlineData("match: {headers: [{name: x, exact: a, prefix: b}]}", "routes[0].match.headers[0]", "exactly one of")]
    [InlineData("match: {headers: [{name: x}]}", "routes[0].match.headers[0]", "exactly one of")]
    [InlineData("match: {headers: [{name: \"a b\", present: true}]}", "routes[0].match.headers[0].name", "invalid header name")]
    [InlineData("match: {headers: [{name: x, regex: \"[\"}]}", "routes[0].match.headers[0].regex", "invalid regex")]
    [InlineData("match: {headers: [{name: x, present: false}]}", "routes[0].match.headers[0].present", "expected true")]
    [InlineData("match: {headers: [{name: x, exact: a, invert: maybe}]}", "routes[0].match.headers[0].invert", "true or false")]
    [InlineData("match: {query_params: [{name: v, exact: a, regex: b}]}", "routes[0].match.query_params[0]", "exactly one of")]
    [InlineData("match: {query_params: [{exact: a}]}", "routes[0].match.query_params[0].name", "needs a name")]
    [InlineData("match: {case_sensitive: nope}", "routes[0].match.case_sensitive", "true or false")]
    [InlineData("match: {host: x}", "routes[0].match.host", "unknown field")]
    public void Parse_BadMatch_ErrorNamesField(string field, string pathSuffix, string message)
    {
        ConfigException e = Errors($"""
                  - {field}
                    cluster: v1
        """);

        Assert.Contains(e.Errors, x => x.Path == "listeners[0].virtual_hosts[0]." + pathSuffix && x.Message.Contains(message, StringComparison.Ordinal)
                                        && x.File == File && x.Line == 7);
    }

    [Theory]
    [InlineData("cluster: v1\n            direct_response: {status: 200}", "routes[0]", "only one action")]
    [InlineData("redirect: {path: /x}\n            direct_response: {status: 200}", "routes[0]", "only one action")]
    [InlineData("timeout: 1s", "routes[0].cluster", "needs a cluster")]
    [InlineData("cluster: nope", "routes[0].cluster", "unknown cluster 'nope'")]
    [InlineData("weighted_clusters: [{cluster: v1, weight: 1}, {cluster: v3, weight: 1}]", "routes[0].weighted_clusters[1].cluster", "unknown cluster 'v3'")]
    [InlineData("weighted_clusters: [{cluster: v1, weight: 0}, {cluster: v2, weight: 0}]", "routes[0].weighted_clusters", "add up to 0")]
    [InlineData("weighted_clusters: []", "routes[0].weighted_clusters", "at least one")]
    [InlineData("weighted_clusters: [{cluster: v1, weight: -1}]", "routes[0].weighted_clusters[0].weight", "expected an integer")]
    [InlineData("redirect: {response_code: 300}", "routes[0].redirect.response_code", "301, 302, 303, 307, 308")]
    [InlineData("redirect: {scheme: ftp}", "routes[0].redirect.scheme", "http or https")]
    [InlineData("redirect: {port: 0}", "routes[0].redirect.port", "1 to 65535")]
    [InlineData("redirect: {host: \"a b\"}", "routes[0].redirect.host", "invalid host")]
    [InlineData("redirect: {host: \"::1\"}", "routes[0].redirect.host", "IPv6 in brackets")]
    [InlineData("cluster: v1\n            rewrite: {host: \"::1\"}", "routes[0].rewrite.host", "IPv6 in brackets")]
    [InlineData("redirect: {path: /a, prefix_rewrite: /b}", "routes[0].redirect", "only one of path, prefix_rewrite")]
    [InlineData("redirect: {path: /a?b}", "routes[0].redirect.path", "starts with '/'")]
    [InlineData("direct_response: {status: 600}", "routes[0].direct_response.status", "200-599")]
    [InlineData("direct_response: {status: 199}", "routes[0].direct_response.status", "200-599")]
    [InlineData("direct_response: {status: 204, body: x}", "routes[0].direct_response.body", "no body")]
    [InlineData("cluster: v1\n            rewrite: {prefix: /a, regex: {pattern: a, substitution: b}}", "routes[0].rewrite", "only one of prefix, regex")]
    [InlineData("cluster: v1\n            rewrite: {regex: {pattern: \"(\", substitution: b}}", "routes[0].rewrite.regex.pattern", "invalid regex")]
    [InlineData("cluster: v1\n            rewrite: {host: \"bad host\"}", "routes[0].rewrite.host", "invalid host")]
    [InlineData("cluster: v1\n            rewrite: {prefxi: /a}", "routes[0].rewrite.prefxi", "unknown field")]
    [InlineData("direct_response: {status: 204}\n            rewrite: {prefix: /a}", "routes[0].rewrite", "must forward")]
    [InlineData("weighted_clusters: [{cluster: v1, weight: 1, request_headers: {set: {\"bad name\": x}}}]", "routes[0].weighted_clusters[0].request_headers.set.bad name", "invalid header name")]
    [InlineData("weighted_clusters: [{cluster: v1, weight: 1, response_headers: {remove: [content-length]}}]", "routes[0].weighted_clusters[0].response_headers.remove[0]", "managed by the proxy")]
    [InlineData("weighted_clusters: [{cluster: v1, weight: 1, headers: {}}]", "routes[0].weighted_clusters[0].headers", "unknown field")]
    public void Parse_BadAction_ErrorNamesField(string fields, string pathSuffix, string message)
    {
        ConfigException e = Errors($"""
                  - prefix: /
                    {fields}
        """);

        Assert.Contains(e.Errors, x => x.Path == "listeners[0].virtual_hosts[0]." + pathSuffix && x.Message.Contains(message, StringComparison.Ordinal)
                                        && x.File == File && x.Line >= 7);
    }

    [Theory]
    [InlineData("redirect: {host: \"[::1]\", port: 8443}")]
    [InlineData("cluster: v1\n            rewrite: {host: \"[::1]:8080\"}")]
    [InlineData("cluster: v1\n            rewrite: {host: \"backend.internal\"}")]
    public void Parse_ValidHosts_Accepted(string fields)
    {
        RouteConfig r = Assert.Single(Routes($"""
                  - prefix: /
                    {fields}
        """));

        Assert.NotNull(r.Redirect ?? (object?)r.Rewrite);
    }

    [Fact]
    public void Parse_PrefixRewriteRedirect_NeedsPrefixMatch()
    {
        ConfigException e = Errors("""
                  - match: {path: /a}
                    redirect: {prefix_rewrite: /b}
        """);

        Assert.Contains(e.Errors, x => x.Path == "listeners[0].virtual_hosts[0].routes[0].redirect.prefix_rewrite" && x.Message.Contains("must match a prefix", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_ShorthandAndMatchBoth_Error()
    {
        ConfigException e = Errors("""
                  - prefix: /a
                    match: {path: /b}
                    cluster: v1
        """);

        Assert.Contains(e.Errors, x => x.Path == "listeners[0].virtual_hosts[0].routes[0].prefix" && x.Message.Contains("one or the other", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_ManyRouteMistakes_AllReportedAtOnce()
    {
        ConfigException e = Errors("""
                  - match: {regex: "("}
                    cluster: v1
                  - prefix: /
                    weighted_clusters: [{cluster: gone, weight: 1}]
                  - prefix: /
                    redirect: {response_code: 200}
                  - prefix: /
                    direct_response: {status: 99}
        """);

        string[] paths = [.. e.Errors.Select(x => x.Path)];
        Assert.Contains("listeners[0].virtual_hosts[0].routes[0].match.regex", paths);
        Assert.Contains("listeners[0].virtual_hosts[0].routes[1].weighted_clusters[0].cluster", paths);
        Assert.Contains("listeners[0].virtual_hosts[0].routes[2].redirect.response_code", paths);
        Assert.Contains("listeners[0].virtual_hosts[0].routes[3].direct_response.status", paths);
        Assert.Equal([7, 10, 12, 14], e.Errors.Select(x => x.Line).Order().ToArray());
    }
}
