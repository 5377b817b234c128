// AuthorizationPolicy over HTTP requests, with the examples of Istio's own documentation (AuthorizationPolicy
// reference, authorization concepts, JWT and ingress tasks) and Istio's evaluation order: DENY, then ALLOW, AUDIT
// never deciding.
using FastPath.Security;
using FastPath.Security.Authorization;
using static FastPath.Core.Tests.Security.Authorization.AuthorizationTestKit;

namespace FastPath.Core.Tests.Security.Authorization;

public sealed class AuthorizationEngineTests
{
    [Fact]
    public void Evaluate_AllowNothing_DeniesEveryRequestWithPolicyNone()
    {
        // Istio: an ALLOW policy without rules matches nothing, so it denies everything (allow-nothing).
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: allow-nothing
            """);

        AuthorizationDecision d = Decide(engine, Request("GET", "/"));

        Assert.False(d.Allowed);
        Assert.Null(d.Policy);
        Assert.Equal("rbac_access_denied_matched_policy[none]", d.Details());
    }

    [Fact]
    public void Evaluate_DenyAll_DeniesNamingThePolicy()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: deny-all
                action: DENY
                rules: [{}]
            """);

        AuthorizationDecision d = Decide(engine, Request("GET", "/anything"));

        Assert.False(d.Allowed);
        Assert.Equal("deny-all", d.PolicyName());
        Assert.Equal("rbac_access_denied_matched_policy[deny-all]", d.Details());
    }

    [Fact]
    public void Evaluate_AllowAllWithOneEmptyRule_AllowsEverything()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: allow-all
                rules: [{}]
            """);

        Assert.True(Decide(engine, Request("DELETE", "/x")).Allowed);
        Assert.Equal("allow-all", Decide(engine, Request("GET", "/")).PolicyName());
    }

    [Fact]
    public void Evaluate_DenyWithoutRules_MatchesNothing()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: deny-nothing
                action: DENY
            """);

        Assert.True(Decide(engine, Request("GET", "/")).Allowed);
    }

    [Fact]
    public void Compile_NoPolicies_NoEngine()
    {
        var config = FastPath.Config.GatewayConfigLoader.Parse("""
            listeners: [{name: a, address: 127.0.0.1, port: 8080, virtual_hosts: [{domains: ["*"], routes: [{cluster: c}]}]}]
            clusters: [{name: c, endpoints: ["127.0.0.1:9001"]}]
            """, "x.yaml");

        Assert.Null(AuthorizationCompiler.Compile(config));
    }

    // The AuthorizationPolicy reference's first example: principal sleep OR namespace dev, GET only, and a JWT from
    // accounts.google.com.
    private const string AllowRead = """
        authorization_policies:
          - name: httpbin
            action: ALLOW
            rules:
              - from:
                  - source: {principals: ["cluster.local/ns/default/sa/sleep"]}
                  - source: {namespaces: ["dev"]}
                to:
                  - operation: {methods: ["GET"]}
                when:
                  - key: request.auth.claims[iss]
                    values: ["https://accounts.google.com"]
        """;

    [Theory]
    [InlineData("spiffe://cluster.local/ns/default/sa/sleep", "GET", true, true)]
    [InlineData("spiffe://cluster.local/ns/dev/sa/anyone", "GET", true, true)]
    [InlineData("spiffe://cluster.local/ns/prod/sa/sleep", "GET", true, false)]   // neither principal nor namespace
    [InlineData("spiffe://cluster.local/ns/default/sa/sleep", "POST", true, false)] // method
    [InlineData("spiffe://cluster.local/ns/default/sa/sleep", "GET", false, false)] // no token: no claim
    [InlineData(null, "GET", true, false)]                                          // plaintext: no principal
    public void Evaluate_ReferenceExample_FromToWhenAnded(string? spiffe, string method, bool withToken, bool allowed)
    {
        AuthorizationEngine engine = Engine(AllowRead);

        AuthorizationDecision d = Decide(engine, Request(method, "/headers"), peer: spiffe is null ? null : Peer(spiffe),
            jwt: withToken ? Jwt("https://accounts.google.com", "user-1", """{"iss":"https://accounts.google.com","sub":"user-1"}""") : null);

        Assert.Equal(allowed, d.Allowed);
    }

    [Theory]
    [InlineData("GET", "/admin/users", true)]
    [InlineData("POST", "/admin/users", false)]
    [InlineData("DELETE", "/admin", true)]   // "/admin/*" is a prefix of "/admin/"
    [InlineData("POST", "/public", true)]
    public void Evaluate_DenyPathWithNotMethods_DeniesOtherMethodsOnThePath(string method, string path, bool allowed)
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: deny-admin-writes
                action: DENY
                rules:
                  - to: [{operation: {paths: ["/admin/*"], not_methods: ["GET", "HEAD"]}}]
            """);

        Assert.Equal(allowed, Decide(engine, Request(method, path)).Allowed);
    }

    [Theory]
    [InlineData("1.2.3.4", true)]
    [InlineData("5.6.7.200", true)]
    [InlineData("5.6.8.1", false)]
    [InlineData("5.6.7.66", false)] // not_ip_blocks excludes it
    [InlineData("2001:db8::1", true)]
    [InlineData("::ffff:1.2.3.4", true)] // a dual-stack socket's mapped peer is the IPv4 address
    public void Evaluate_IpBlocks_CidrAndSingleAddresses(string source, bool allowed)
    {
        // Istio's ingress task: allow only these client addresses.
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: ingress-policy
                rules:
                  - from: [{source: {ip_blocks: ["1.2.3.4", "5.6.7.0/24", "2001:db8::/32"], not_ip_blocks: ["5.6.7.66"]}}]
            """);

        Assert.Equal(allowed, Decide(engine, Request("GET", "/"), source: source).Allowed);
    }

    [Theory]
    [InlineData(0, "203.0.113.7, 10.0.0.9", "192.168.1.1", false)] // no trusted proxy: remote.ip is the peer
    [InlineData(1, "203.0.113.7, 10.0.0.9", "192.168.1.1", false)] // the rightmost entry is 10.0.0.9
    [InlineData(2, "203.0.113.7, 10.0.0.9", "192.168.1.1", true)]  // two proxies: 203.0.113.7
    [InlineData(3, "203.0.113.7, 10.0.0.9", "192.168.1.1", false)] // too few entries: the peer
    [InlineData(3, "203.0.113.7, 10.0.0.9", "203.0.113.99", true)] // ...which is in the block
    public void Evaluate_RemoteIpBlocks_FollowNumTrustedProxies(int trusted, string xff, string peer, bool allowed)
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: remote
                rules:
                  - from: [{source: {remote_ip_blocks: ["203.0.113.0/24"]}}]
            """, $"num_trusted_proxies: {trusted}\n");

        Assert.Equal(allowed, Decide(engine, Request("GET", "/", headers: ("X-Forwarded-For", xff)), source: peer).Allowed);
    }

    [Fact]
    public void Evaluate_RemoteIp_SeveralForwardedForFieldsReadAsOneList()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: remote
                rules:
                  - when: [{key: remote.ip, values: ["198.51.100.1"]}]
            """, "num_trusted_proxies: 2\n");

        Assert.True(Decide(engine, Request("GET", "/", headers: [("x-forwarded-for", "198.51.100.1"), ("x-forwarded-for", "10.0.0.1")])).Allowed);
        Assert.False(Decide(engine, Request("GET", "/", headers: [("x-forwarded-for", "10.0.0.1"), ("x-forwarded-for", "198.51.100.1")])).Allowed);    }

    [Theory]
    [InlineData(null, false)]                                                  // "*" needs a token
    [InlineData("testing@secure.istio.io/testing@secure.istio.io", true)]
    [InlineData("https://other.example/alice", true)]
    public void Evaluate_RequestPrincipalsStar_RequiresAnyToken(string? principal, bool allowed)
    {
        // Istio's JWT task: require a valid token, whoever issued it.
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: require-jwt
                rules:
                  - from: [{source: {request_principals: ["*"]}}]
            """);
        RequestIdentity? jwt = null;
        if (principal is not null)
        {
            int slash = principal.LastIndexOf('/');  // Istio's request principal is iss + "/" + sub
            jwt = Jwt(principal[..slash], principal[(slash + 1)..]);
        }

        Assert.Equal(allowed, Decide(engine, Request("GET", "/headers"), jwt: jwt).Allowed);
    }

    [Theory]
    [InlineData("https://issuer.example", "alice", true)]
    [InlineData("https://issuer.example", "bob", false)]       // not_request_principals
    [InlineData("https://evil.example", "alice", false)]
    [InlineData("https://issuer.example/x", "alice", false)]  // Istio splits at the last '/': the issuer must be exact
    [InlineData("https://issuer.example", "", false)]         // "*" after the issuer needs a subject
    public void Evaluate_RequestPrincipalsIssuerWildcard_AndNotForm(string issuer, string subject, bool allowed)
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: issuer
                rules:
                  - from: [{source: {request_principals: ["https://issuer.example/*"], not_request_principals: ["*/bob"]}}]
            """);

        Assert.Equal(allowed, Decide(engine, Request("GET", "/"), jwt: Jwt(issuer, subject)).Allowed);
    }

    [Theory]
    [InlineData("""{"groups":["group1","group2"]}""", true)]
    [InlineData("""{"groups":"group1"}""", true)]
    [InlineData("""{"groups":["group2"]}""", false)]
    [InlineData("""{}""", false)]
    public void Evaluate_WhenClaimGroups_MatchesAnyArrayItem(string claims, bool allowed)
    {
        // Istio's JWT task: request.auth.claims[groups] contains group1.
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: require-group
                rules:
                  - from: [{source: {request_principals: ["testing@secure.istio.io/testing@secure.istio.io"]}}]
                    when: [{key: "request.auth.claims[groups]", values: ["group1"]}]
            """);

        RequestIdentity jwt = Jwt("testing@secure.istio.io", "testing@secure.istio.io", claims);

        Assert.Equal(allowed, Decide(engine, Request("GET", "/headers"), jwt: jwt).Allowed);
    }

    [Theory]
    [InlineData("""{"nested":{"key1":"valueA"}}""", true)]
    [InlineData("""{"nested":{"key1":"valueB"}}""", false)]
    [InlineData("""{"nested":{"key1":"valueC"}}""", false)] // not_values
    [InlineData("""{"key1":"valueA"}""", false)]
    public void Evaluate_WhenNestedClaim_FollowsThePath(string claims, bool allowed)
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: nested
                rules:
                  - when: [{key: "request.auth.claims[nested][key1]", values: ["value*"], not_values: ["valueB", "valueC"]}]
            """);

        Assert.Equal(allowed, Decide(engine, Request("GET", "/"), jwt: Jwt("iss", "sub", claims)).Allowed);
    }

    [Fact]
    public void Evaluate_WhenAudiencesAndPresenter_MatchTheToken()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: aud
                rules:
                  - when:
                      - {key: request.auth.audiences, values: ["api.example.com"]}
                      - {key: request.auth.presenter, values: ["web-*"]}
                      - {key: request.auth.principal, values: ["https://idp/*"]}
            """);

        Assert.True(Decide(engine, Request("GET", "/"), jwt: Jwt("https://idp", "u", audiences: ["x", "api.example.com"], presenter: "web-app")).Allowed);
        Assert.False(Decide(engine, Request("GET", "/"), jwt: Jwt("https://idp", "u", audiences: ["x"], presenter: "web-app")).Allowed);
        Assert.False(Decide(engine, Request("GET", "/"), jwt: Jwt("https://idp", "u", audiences: ["api.example.com"], presenter: "cli")).Allowed);
        Assert.False(Decide(engine, Request("GET", "/"), jwt: Jwt("https://other", "u", audiences: ["api.example.com"], presenter: "web-app")).Allowed);
    }

    [Theory]
    [InlineData("bookinfo.com", 8080, true)]
    [InlineData("BookInfo.COM:8080", 8080, true)]    // case-insensitive, port stripped
    [InlineData("reviews.bookinfo.com", 8080, true)] // *.bookinfo.com
    [InlineData("bookinfo.com", 9090, false)]        // ports
    [InlineData("evil.com", 8080, false)]
    [InlineData("admin.bookinfo.com", 8080, false)]  // not_hosts
    public void Evaluate_HostsAndPorts(string host, int port, bool allowed)
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: hosts
                rules:
                  - to: [{operation: {hosts: ["bookinfo.com", "*.bookinfo.com"], not_hosts: ["admin.bookinfo.com"], ports: ["8080"]}}]
            """);

        Assert.Equal(allowed, Decide(engine, Request("GET", "/", host), port: port).Allowed);
    }

    [Theory]
    [InlineData("/info", true)]             // exact
    [InlineData("/info?debug=1", true)]     // the query is not part of the path
    [InlineData("/info/x", false)]
    [InlineData("/api/v1/users", true)]     // prefix "/api/*"
    [InlineData("/apix", false)]
    [InlineData("/svc/a/status", true)]     // suffix "*/status"
    [InlineData("/status-page", false)]
    public void Evaluate_Paths_ExactPrefixSuffix(string target, bool allowed)
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: paths
                rules:
                  - to: [{operation: {paths: ["/info", "/api/*", "*/status"]}}]
            """);

        Assert.Equal(allowed, Decide(engine, Request("GET", target)).Allowed);
    }

    [Fact]
    public void Evaluate_PathStar_MatchesAnyPath()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: any-path
                rules: [{to: [{operation: {paths: ["*"], methods: ["GET"]}}]}]
            """);

        Assert.True(Decide(engine, Request("GET", "/a/b")).Allowed);
        Assert.False(Decide(engine, Request("PUT", "/a/b")).Allowed);
    }

    [Theory]
    [InlineData(null, false)]            // plaintext: no principal, notPrincipals ["*"] holds -> denied
    [InlineData("spiffe://cluster.local/ns/foo/sa/bar", true)]
    public void Evaluate_DenyNotPrincipalsStar_RejectsRequestsWithoutMtls(string? spiffe, bool allowed)
    {
        // Istio's mTLS migration task: deny requests that are not mutual TLS.
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: require-mtls
                action: DENY
                rules:
                  - from: [{source: {not_principals: ["*"]}}]
            """);

        Assert.Equal(allowed, Decide(engine, Request("GET", "/"), peer: spiffe is null ? null : Peer(spiffe)).Allowed);
    }

    [Theory]
    [InlineData("spiffe://cluster.local/ns/foo/sa/bar", true)]
    [InlineData("spiffe://cluster.local/ns/foo/sa/admin", false)]  // not_principals
    [InlineData("spiffe://other.domain/ns/foo/sa/bar", false)]     // prefix wildcard
    [InlineData("spiffe://cluster.local/ns/team-a/sa/bar", true)]  // namespaces "team-*"
    [InlineData("spiffe://cluster.local/ns/team-b/sa/x", false)]   // not_namespaces
    public void Evaluate_PrincipalsAndNamespaces_Wildcards(string spiffe, bool allowed)
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: peers
                rules:
                  - from:
                      - source: {principals: ["cluster.local/*"], not_principals: ["*/sa/admin"], namespaces: ["foo"]}
                      - source: {namespaces: ["team-*"], not_namespaces: ["team-b"]}
            """);

        Assert.Equal(allowed, Decide(engine, Request("GET", "/"), peer: Peer(spiffe)).Allowed);
    }

    [Theory]
    [InlineData(new[] { "x-token", "abc" }, true)]
    [InlineData(new[] { "X-Token", "abc" }, true)]      // header names are case-insensitive
    [InlineData(new[] { "x-token", "ABC" }, false)]     // values are not
    [InlineData(new[] { "x-token", "abc-revoked" }, false)]
    [InlineData(new[] { "x-other", "abc" }, false)]
    public void Evaluate_WhenRequestHeader_ExactAndNotValues(string[] header, bool allowed)
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: token
                rules:
                  - when: [{key: "request.headers[x-token]", values: ["abc*"], not_values: ["*-revoked"]}]
            """);

        Assert.Equal(allowed, Decide(engine, Request("GET", "/", headers: (header[0], header[1]))).Allowed);
    }

    [Fact]
    public void Evaluate_WhenRequestHeader_SeveralFieldsJoinedWithComma()
    {
        // Envoy matches a repeated header as its values joined with ","; Istio's header conditions inherit that.
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: token
                rules:
                  - when: [{key: "request.headers[x-role]", values: ["admin,audit"]}]
            """);

        Assert.True(Decide(engine, Request("GET", "/", headers: [("x-role", "admin"), ("x-role", "audit")])).Allowed);
        Assert.False(Decide(engine, Request("GET", "/", headers: ("x-role", "admin"))).Allowed);
    }

    [Fact]
    public void Evaluate_WhenHeaderPresent_StarNeedsTheField()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: deny-debug
                action: DENY
                rules: [{when: [{key: "request.headers[x-debug]", values: ["*"]}]}]
            """);

        Assert.False(Decide(engine, Request("GET", "/", headers: ("x-debug", "1"))).Allowed);
        Assert.True(Decide(engine, Request("GET", "/")).Allowed);
    }

    [Fact]
    public void Evaluate_ConnectionAndPeerConditions()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: conn
                rules:
                  - when:
                      - {key: source.ip, values: ["10.0.0.0/8"], not_values: ["10.9.0.0/16"]}
                      - {key: destination.ip, values: ["127.0.0.1"]}
                      - {key: destination.port, values: ["8080", "8443"]}
                      - {key: connection.sni, values: ["*.example.com"]}
                      - {key: source.principal, values: ["cluster.local/ns/foo/sa/bar"]}
                      - {key: source.namespace, values: ["foo"]}
            """);
        PeerIdentity peer = Peer("spiffe://cluster.local/ns/foo/sa/bar");

        Assert.True(Decide(engine, Request("GET", "/"), "10.1.1.1", 8443, peer, sni: "api.example.com").Allowed);
        Assert.False(Decide(engine, Request("GET", "/"), "10.9.1.1", 8443, peer, sni: "api.example.com").Allowed);  // source.ip not_values
        Assert.False(Decide(engine, Request("GET", "/"), "10.1.1.1", 9000, peer, sni: "api.example.com").Allowed);  // destination.port
        Assert.False(Decide(engine, Request("GET", "/"), "10.1.1.1", 8443, peer, destination: "127.0.0.2", sni: "api.example.com").Allowed);
        Assert.False(Decide(engine, Request("GET", "/"), "10.1.1.1", 8443, peer, sni: "api.other.com").Allowed);    // connection.sni
        Assert.False(Decide(engine, Request("GET", "/"), "10.1.1.1", 8443, null, sni: "api.example.com").Allowed);  // no peer
        Assert.False(Decide(engine, Request("GET", "/"), "10.1.1.1", 8443, Peer("spiffe://cluster.local/ns/bar/sa/bar"), sni: "api.example.com").Allowed);
    }

    [Fact]
    public void Evaluate_DenyBeatsAllow()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: allow-get
                rules: [{to: [{operation: {methods: ["GET"]}}]}]
              - name: deny-private
                action: DENY
                rules: [{to: [{operation: {paths: ["/private/*"]}}]}]
            """);

        Assert.Equal("allow-get", Decide(engine, Request("GET", "/public")).PolicyName());
        AuthorizationDecision denied = Decide(engine, Request("GET", "/private/x"));
        Assert.False(denied.Allowed);
        Assert.Equal("deny-private", denied.PolicyName());
        AuthorizationDecision noAllow = Decide(engine, Request("POST", "/public"));
        Assert.False(noAllow.Allowed);
        Assert.Null(noAllow.Policy);
    }

    [Fact]
    public void Evaluate_AnyOfSeveralAllowPolicies_Allows()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: allow-get
                rules: [{to: [{operation: {methods: ["GET"]}}]}]
              - name: allow-post-api
                rules: [{to: [{operation: {methods: ["POST"], paths: ["/api/*"]}}]}]
            """);

        Assert.Equal("allow-post-api", Decide(engine, Request("POST", "/api/x")).PolicyName());
        Assert.False(Decide(engine, Request("POST", "/web")).Allowed);
    }

    [Fact]
    public void Evaluate_Audit_MarksButNeverDecides()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: audit-admin
                action: AUDIT
                rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
            """);

        // An AUDIT policy alone does not make ALLOW-by-default into deny-by-default.
        AuthorizationDecision d = Decide(engine, Request("GET", "/admin/x"));
        Assert.True(d.Allowed);
        Assert.Equal("audit-admin", d.Audited?.Name);
        Assert.Null(Decide(engine, Request("GET", "/other")).Audited);
    }

    [Fact]
    public void Evaluate_AuditWithDenyAndAllow_MarksWhateverTheDecision()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: audit-all
                action: AUDIT
                rules: [{}]
              - name: deny-delete
                action: DENY
                rules: [{to: [{operation: {methods: ["DELETE"]}}]}]
              - name: allow-get
                rules: [{to: [{operation: {methods: ["GET"]}}]}]
            """);

        AuthorizationDecision get = Decide(engine, Request("GET", "/"));
        AuthorizationDecision delete = Decide(engine, Request("DELETE", "/"));
        AuthorizationDecision put = Decide(engine, Request("PUT", "/"));

        Assert.True(get.Allowed);
        Assert.False(delete.Allowed);
        Assert.Equal("deny-delete", delete.PolicyName());
        Assert.False(put.Allowed);
        Assert.All([get, delete, put], d => Assert.Equal("audit-all", d.Audited?.Name));
    }

    [Fact]
    public void Evaluate_Counts_ByPolicyAndDecision()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: metrics-deny
                action: DENY
                rules: [{to: [{operation: {paths: ["/x"]}}]}]
              - name: metrics-audit
                action: AUDIT
                rules: [{}]
              - name: metrics-allow
                rules: [{to: [{operation: {methods: ["GET"]}}]}]
            """);
        double denied = Count("metrics-deny", "denied", "http"), audited = Count("metrics-audit", "audited", "http");
        double allowed = Count("metrics-allow", "allowed", "http"), tcpDenied = Count("metrics-deny", "denied", "tcp");

        Decide(engine, Request("GET", "/x"));
        Decide(engine, Request("GET", "/y"));
        DecideTcp(engine);

        Assert.Equal(denied + 1, Count("metrics-deny", "denied", "http"));
        Assert.Equal(audited + 2, Count("metrics-audit", "audited", "http"));
        Assert.Equal(allowed + 1, Count("metrics-allow", "allowed", "http"));
        Assert.Equal(tcpDenied + 1, Count("metrics-deny", "denied", "tcp")); // HTTP-only paths dropped for a DENY rule

        static double Count(string policy, string decision, string protocol)
        {
            FastPath.Observability.Stats.AuthorizationMetrics.Publish(); // what a /stats/prometheus collection does first
            return FastPath.Observability.Stats.AuthorizationMetrics.Decisions.WithLabels(policy, decision, protocol).Value;
        }
    }
}
