// Authorization runs on every request: with 50 policies (DENY, AUDIT and ALLOW of every field kind) a decision
// allocates nothing once warm. Measured on this thread only.
using FastPath.Http;
using FastPath.Security;
using FastPath.Security.Authorization;
using static FastPath.Core.Tests.Security.Authorization.AuthorizationTestKit;

namespace FastPath.Core.Tests.Security.Authorization;

public sealed class AuthorizationAllocationTests
{
    [Fact]
    public void Evaluate_FiftyPoliciesAfterWarmUp_AllocatesNothing()
    {
        AuthorizationEngine engine = Engine(FiftyPolicies.Yaml, "num_trusted_proxies: 1\n");
        HttpRequestHead request = Request("POST", "/api/v1/orders?id=7", "shop.example.com:8080",
            ("x-forwarded-for", "203.0.113.9"), ("x-tenant", "acme"), ("x-role", "a"), ("x-role", "b"));
        // Claims are read through RequestIdentity.TryGetClaim, whose strings are the JWT stage's contract, so no
        // claim condition here; audiences, principals and headers are compared in place.
        var jwt = Jwt("https://idp.example", "alice", """{"groups":["admins"]}""", ["shop"], "web");
        var peer = Peer("spiffe://cluster.local/ns/shop/sa/frontend");
        UInt128 source = IpNetwork.ToBits(System.Net.IPAddress.Parse("10.200.0.1"));
        UInt128 destination = IpNetwork.ToBits(System.Net.IPAddress.Loopback);
        bool allowed = false;
        for (int i = 0; i < 1000; i++) allowed = Evaluate(engine, request, source, destination, peer, jwt);
        Assert.True(allowed); // the last ALLOW policy, after every other was tried

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) Evaluate(engine, request, source, destination, peer, jwt);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    private static bool Evaluate(AuthorizationEngine engine, HttpRequestHead request, UInt128 source, UInt128 destination,
        PeerIdentity peer, RequestIdentity jwt)
    {
        var ctx = new AuthorizationContext
        {
            Request = request,
            SourceAddress = source,
            DestinationAddress = destination,
            DestinationPort = 8080,
            Peer = peer,
            Identity = jwt,
        };
        return engine.Evaluate(ref ctx).Allowed;
    }
}

/// <summary>Fifty policies of every field kind, none matching the benchmark request until the last ALLOW.</summary>
internal static class FiftyPolicies
{
    public static readonly string Yaml = Build();

    private static string Build()
    {
        var s = new System.Text.StringBuilder("authorization_policies:\n");
        for (int i = 0; i < 16; i++)
        {
            s.Append($"  - name: deny-{i}\n    action: DENY\n    rules:\n");
            s.Append($"      - from: [{{source: {{ip_blocks: [\"10.{i}.0.0/16\"], not_principals: [\"cluster.local/ns/ops-{i}/*\"]}}}}]\n");
            s.Append($"        to: [{{operation: {{paths: [\"/admin-{i}/*\"], methods: [\"DELETE\"]}}}}]\n");
            s.Append($"      - when: [{{key: \"request.headers[x-block-{i}]\", values: [\"*\"]}}]\n");
        }
        for (int i = 0; i < 8; i++)
        {
            s.Append($"  - name: audit-{i}\n    action: AUDIT\n    rules:\n");
            s.Append($"      - to: [{{operation: {{hosts: [\"audit-{i}.example.com\"], paths: [\"*/audit\"]}}}}]\n");
        }
        for (int i = 0; i < 25; i++)
        {
            s.Append($"  - name: allow-{i}\n    rules:\n");
            s.Append($"      - from: [{{source: {{namespaces: [\"team-{i}\"], remote_ip_blocks: [\"198.51.{i}.0/24\"]}}}}]\n");
            s.Append($"        to: [{{operation: {{hosts: [\"*.svc-{i}.example.com\"], ports: [\"{9000 + i}\"], paths: [\"/v{i}/*\"]}}}}]\n");
            s.Append($"        when: [{{key: \"request.headers[x-tenant]\", values: [\"tenant-{i}\"]}}, {{key: request.auth.audiences, values: [\"aud-{i}\"]}}]\n");
        }
        s.Append("  - name: allow-shop\n    rules:\n");
        s.Append("      - from: [{source: {principals: [\"cluster.local/ns/shop/*\"], request_principals: [\"https://idp.example/*\"], remote_ip_blocks: [\"203.0.113.0/24\"]}}]\n");
        s.Append("        to: [{operation: {hosts: [\"shop.example.com\"], methods: [\"GET\", \"POST\"], paths: [\"/api/*\"], ports: [\"8080\"]}}]\n");
        s.Append("        when: [{key: \"request.headers[x-tenant]\", values: [\"acme\"]}, {key: \"request.headers[x-role]\", values: [\"a,b\"]}]\n");
        return s.ToString();
    }
}
