// Authorization runs on every request: with 50 policies (DENY, AUDIT and ALLOW of every field kind: the benchmark's
// set) a decision allocates nothing once warm. Measured on this thread only.
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
        AuthorizationEngine engine = Engine(File.ReadAllText(RepoFile("perf", "FastPath.Benchmarks", "Security", "authorization-50-policies.yaml")));
        Assert.Equal(50, engine.Policies.Count);
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

    private static string RepoFile(params string[] parts)
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "FastPath.sln"))) dir = Path.GetDirectoryName(dir)!;
        return Path.Combine([dir, .. parts]);
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
