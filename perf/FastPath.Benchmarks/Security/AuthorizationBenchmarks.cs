// AuthorizationPolicy evaluation with 50 policies (Security/authorization-50-policies.yaml): a request that every
// DENY and AUDIT policy and 25 ALLOW policies reject before the last ALLOW allows it (the worst case), one denied by
// the first DENY policy, and a TCP connection (HTTP-only fields as Istio treats them). Category ZeroAlloc: the CI
// gate fails if a decision allocates.
using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using FastPath.Config;
using FastPath.Http;
using FastPath.Http1;
using FastPath.Security;
using FastPath.Security.Authorization;

namespace FastPath.Benchmarks.Security;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class AuthorizationBenchmarks
{
    private const string Listener = """
        listeners: [{name: main, address: 127.0.0.1, port: 8080, virtual_hosts: [{domains: ["*"], routes: [{cluster: web}]}]}]
        clusters: [{name: web, endpoints: ["127.0.0.1:9001"]}]

        """;

    private AuthorizationEngine _engine = null!;
    private readonly HttpRequestHead _allowed = new();
    private readonly HttpRequestHead _denied = new();
    private PeerIdentity _peer = null!;
    private RequestIdentity _jwt = null!;
    private UInt128 _source, _destination;

    /// <summary>The 50-policy file, found from the working directory up (BenchmarkDotNet runs from a generated folder).</summary>
    public static string PoliciesYaml()
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "FastPath.sln"))) dir = Path.GetDirectoryName(dir) ?? throw new FileNotFoundException("FastPath.sln");
        return File.ReadAllText(Path.Combine(dir, "perf", "FastPath.Benchmarks", "Security", "authorization-50-policies.yaml"));
    }

    [GlobalSetup]
    public void Setup()
    {
        _engine = AuthorizationCompiler.Compile(GatewayConfigLoader.Parse(Listener + PoliciesYaml(), "bench.yaml"))!;
        Parse(_allowed, "POST /api/v1/orders?id=7 HTTP/1.1\r\nHost: shop.example.com:8080\r\nX-Forwarded-For: 203.0.113.9\r\n"
                        + "X-Tenant: acme\r\nX-Role: a\r\nX-Role: b\r\nUser-Agent: bench\r\n\r\n");
        Parse(_denied, "DELETE /status HTTP/1.1\r\nHost: shop.example.com\r\nX-Block-0: 1\r\n\r\n");
        PeerIdentity.TryParse("spiffe://cluster.local/ns/shop/sa/frontend", out PeerIdentity? peer);
        _peer = peer!;
        _jwt = new RequestIdentity("https://idp.example", "alice", ["shop"], "web", JsonDocument.Parse("{}").RootElement.Clone());
        _source = IpNetwork.ToBits(IPAddress.Parse("10.200.0.1"));
        _destination = IpNetwork.ToBits(IPAddress.Loopback);
        if (!HttpAllowedByLastPolicy() || HttpDeniedByFirstPolicy() || Tcp())
            throw new InvalidOperationException("benchmark requests are not decided as intended");
    }

    private static void Parse(HttpRequestHead head, string text)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)));
        var handler = new Http1RequestHandler(head);
        var state = new Http1HeadParseState();
        Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out _);
        handler.Complete();
    }

    private bool Evaluate(HttpRequestHead? request)
    {
        var ctx = new AuthorizationContext
        {
            Request = request,
            SourceAddress = _source,
            DestinationAddress = _destination,
            DestinationPort = 8080,
            Peer = _peer,
            Identity = request is null ? null : _jwt,
        };
        return _engine.Evaluate(ref ctx).Allowed;
    }

    [Benchmark]
    public bool HttpAllowedByLastPolicy() => Evaluate(_allowed);

    [Benchmark]
    public bool HttpDeniedByFirstPolicy() => Evaluate(_denied);

    [Benchmark]
    public bool Tcp() => Evaluate(null);
}
