// AuthorizationPolicy over TCP connections, as Istio applies it (pilot's authz model, checkError, and the
// "authorization for TCP workloads" docs): HTTP-only fields (hosts, methods, paths, request principals, request
// headers, JWT claims) make an ALLOW rule never match a connection, and are dropped from DENY and AUDIT rules, whose
// remaining fields still apply.
using FastPath.Security;
using FastPath.Security.Authorization;
using static FastPath.Core.Tests.Security.Authorization.AuthorizationTestKit;

namespace FastPath.Core.Tests.Security.Authorization;

public sealed class AuthorizationTcpTests
{
    [Fact]
    public void Tcp_AllowRuleWithMethods_NeverMatchesSoConnectionDenied()
    {
        // Istio docs: an ALLOW policy on a TCP port with methods: ["GET"] denies all its traffic.
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: tcp-allow-get
                rules:
                  - from: [{source: {ip_blocks: ["10.0.0.0/8"]}}]
                    to: [{operation: {methods: ["GET"], ports: ["27017"]}}]
            """);

        AuthorizationDecision d = DecideTcp(engine, "10.1.1.1", 27017);

        Assert.False(d.Allowed);
        Assert.Null(d.Policy);
        Assert.True(Decide(engine, Request("GET", "/"), "10.1.1.1", 27017).Allowed); // the same rule works for HTTP
    }

    [Fact]
    public void Tcp_AllowRuleWithHttpOnlyField_OtherRulesOfThePolicyStillApply()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: mixed
                rules:
                  - to: [{operation: {paths: ["/x"]}}]
                  - to: [{operation: {ports: ["27017"]}}]
            """);

        Assert.True(DecideTcp(engine, port: 27017).Allowed);
        Assert.False(DecideTcp(engine, port: 5432).Allowed);
    }

    [Theory]
    [InlineData("10.1.1.1", false)]
    [InlineData("192.168.1.1", true)]
    public void Tcp_DenyRuleWithHttpOnlyField_DropsTheFieldKeepsTheRest(string source, bool allowed)
    {
        // The methods field is ignored for TCP: the rule becomes "from 10.0.0.0/8", a wider deny.
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: deny-ten
                action: DENY
                rules:
                  - from: [{source: {ip_blocks: ["10.0.0.0/8"]}}]
                    to: [{operation: {methods: ["POST"]}}]
            """);

        Assert.Equal(allowed, DecideTcp(engine, source).Allowed);
    }

    [Fact]
    public void Tcp_DenyRuleOfOnlyHttpOnlyFields_DeniesEveryConnection()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: deny-paths
                action: DENY
                rules:
                  - to: [{operation: {paths: ["/admin/*"], hosts: ["a.example"]}}]
                    when: [{key: "request.headers[x-debug]", values: ["1"]}]
            """);

        AuthorizationDecision d = DecideTcp(engine);

        Assert.False(d.Allowed);
        Assert.Equal("deny-paths", d.PolicyName());
        Assert.True(Decide(engine, Request("GET", "/public")).Allowed);
    }

    [Fact]
    public void Tcp_DenyRequestPrincipals_DroppedLikeOtherHttpOnlyFields()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: deny-jwt-from-ten
                action: DENY
                rules:
                  - from: [{source: {request_principals: ["*"], ip_blocks: ["10.0.0.0/8"]}}]
            """);

        Assert.False(DecideTcp(engine, "10.0.0.5").Allowed);
        Assert.True(DecideTcp(engine, "11.0.0.5").Allowed);
        Assert.True(Decide(engine, Request("GET", "/"), "10.0.0.5").Allowed); // HTTP: no token, the rule does not match
    }

    [Theory]
    [InlineData("10.0.0.1", 9000, true)]
    [InlineData("10.0.0.1", 9001, false)]   // ports
    [InlineData("172.16.0.1", 9000, false)] // ip_blocks
    public void Tcp_AllowByIpBlocksAndPorts(string source, int port, bool allowed)
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: tcp-allow
                rules:
                  - from: [{source: {ip_blocks: ["10.0.0.0/8"]}}]
                    to: [{operation: {ports: ["9000"]}}]
            """);

        Assert.Equal(allowed, DecideTcp(engine, source, port).Allowed);
    }

    [Fact]
    public void Tcp_PrincipalsSniAndRemoteIp_ApplyToConnections()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: tcp-peers
                rules:
                  - from: [{source: {principals: ["cluster.local/ns/db-clients/*"], remote_ip_blocks: ["10.0.0.0/8"]}}]
                    when: [{key: connection.sni, values: ["db.example.com"]}]
            """, "num_trusted_proxies: 1\n");
        PeerIdentity client = Peer("spiffe://cluster.local/ns/db-clients/sa/app");

        Assert.True(DecideTcp(engine, "10.0.0.1", peer: client, sni: "db.example.com").Allowed); // remote.ip = peer for TCP
        Assert.False(DecideTcp(engine, "10.0.0.1", peer: client, sni: "web.example.com").Allowed);
        Assert.False(DecideTcp(engine, "10.0.0.1", sni: "db.example.com").Allowed);
    }

    [Fact]
    public void Tcp_AuditWithHttpOnlyField_MarksEveryConnection()
    {
        AuthorizationEngine engine = Engine("""
            authorization_policies:
              - name: audit-paths
                action: AUDIT
                rules: [{to: [{operation: {paths: ["/x"]}}]}]
            """);

        AuthorizationDecision d = DecideTcp(engine);

        Assert.True(d.Allowed);
        Assert.Equal("audit-paths", d.Audited?.Name);
    }

    // Istio's "Authorization for TCP traffic" task (tcp-echo on ports 9000-9002), step by step.
    [Theory]
    [InlineData("rules: [{to: [{operation: {ports: [\"9000\", \"9001\"]}}]}]", "ALLOW", true, true, false)]
    [InlineData("rules: [{to: [{operation: {methods: [GET], ports: [\"9000\"]}}]}]", "ALLOW", false, false, false)]
    [InlineData("rules: [{to: [{operation: {methods: [GET], ports: [\"9000\"]}}]}]", "DENY", false, true, true)]
    public void Tcp_IstioTcpTask(string rules, string action, bool port9000, bool port9001, bool port9002)
    {
        AuthorizationEngine engine = Engine($"""
            authorization_policies:
              - name: tcp-policy
                action: {action}
                {rules}
            """);

        Assert.Equal([port9000, port9001, port9002], [DecideTcp(engine, port: 9000).Allowed, DecideTcp(engine, port: 9001).Allowed,
            DecideTcp(engine, port: 9002).Allowed]);
    }
}
