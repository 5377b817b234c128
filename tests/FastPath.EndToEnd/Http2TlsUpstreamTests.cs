// HTTP/2 to origins over TLS (cluster protocol: http2 with tls) through the real gateway: Kestrel origins serving
// HTTPS with HTTP/2 only (ALPN h2), certificates from a test CA. gRPC over TLS, a burst of first requests sharing the
// connections being opened, mutual TLS (MUTUAL and ISTIO_MUTUAL) to an origin that requires client certificates, and
// origins that offer only http/1.1 or no ALPN. Plain requests, bodies and trailers over TLS run in Http2UpstreamTests.
using System.Net;
using System.Net.Http;
using System.Text.Json;
using FastPath.EndToEnd.Grpc;
using FastPath.EndToEnd.Testing;
using Grpc.Net.Client;

namespace FastPath.EndToEnd;

public sealed class Http2TlsUpstreamFixture : IAsyncLifetime
{
    public const string OriginHost = "h2.origin.test";

    public TestPki Pki { get; } = new();
    public OriginServer Burst { get; private set; } = null!;
    public OriginServer Http11Only { get; private set; } = null!;
    public OriginServer AutoHttp2 { get; private set; } = null!;
    public OriginServer AutoHttp11 { get; private set; } = null!;
    public GrpcOrigin Grpc { get; private set; } = null!;
    public TlsOrigin NoAlpn { get; } = new("noalpn.test");
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var tls = new OriginTls(Pki.Issue("h2origin", [OriginHost]));
        Burst = await OriginServer.StartAsync("burst", http2: true, tls);
        Http11Only = await OriginServer.StartAsync("h1tls", http2: false, tls);
        AutoHttp2 = await OriginServer.StartAsync("auto2", http2: true, tls);
        AutoHttp11 = await OriginServer.StartAsync("auto1", http2: false, tls);
        Grpc = await GrpcOrigin.StartAsync("gtls", tls);
        string simple = $"tls: {{mode: SIMPLE, sni: {OriginHost}, trust_bundle: {Pki.CaFile}}}";
        string noAlpnCa = Path.Combine(Pki.Directory, "noalpn.pem");
        await File.WriteAllTextAsync(noAlpnCa, NoAlpn.Certificate.ExportCertificatePem() + "\n");
        Gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/burst/", "burst", null, "rewrite: {prefix: /delay}")
            .Route("/h1only/", "h1only")
            .Route("/noalpn/", "noalpn")
            .Route("/auto-h2/", "auto-h2")
            .Route("/auto-h1/", "auto-h1")
            .Route("/fastpath.test.Echo/", "grpc", "30s")
            .Cluster("burst", [Burst.Address], "protocol: http2", simple, "http2: {max_concurrent_streams: 10}")
            .Cluster("h1only", [Http11Only.Address], "protocol: http2", simple)
            .Cluster("auto-h2", [AutoHttp2.Address], "protocol: auto", simple)
            .Cluster("auto-h1", [AutoHttp11.Address], "protocol: auto", simple)
            .Cluster("noalpn", [NoAlpn.Address], "protocol: http2", $"tls: {{mode: SIMPLE, sni: noalpn.test, trust_bundle: {noAlpnCa}}}")
            .Cluster("grpc", [Grpc.Address], "protocol: http2", simple), accessLog: true);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Burst.DisposeAsync();
        await Http11Only.DisposeAsync();
        await AutoHttp2.DisposeAsync();
        await AutoHttp11.DisposeAsync();
        await Grpc.DisposeAsync();
        await NoAlpn.DisposeAsync();
        Pki.Dispose();
    }
}

public sealed class Http2TlsUpstreamTests(Http2TlsUpstreamFixture fixture) : IClassFixture<Http2TlsUpstreamFixture>
{
    private readonly GatewayProcess _gateway = fixture.Gateway;

    private static HttpClient Client(int connections = 4) =>
        new(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = connections }) { Timeout = TimeSpan.FromSeconds(30) };

    private GrpcChannel Channel() => GrpcChannel.ForAddress($"http://127.0.0.1:{_gateway.Port}", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false, UseProxy = false },
    });

    [Fact(Timeout = 60_000)]
    public async Task GrpcUnary_OverTlsUpstream_HeadersAndTrailersCross()
    {
        using GrpcChannel channel = Channel();
        await GrpcTests.AssertUnaryCarriesMetadataAsync(new Echo.EchoClient(channel), fixture.Grpc);
    }

    [Fact(Timeout = 60_000)]
    public async Task GrpcStreaming_ServerAndBidi_OverTlsUpstream()
    {
        using GrpcChannel channel = Channel();
        var client = new Echo.EchoClient(channel);
        await GrpcTests.AssertServerStreamInOrderAsync(client);
        await GrpcTests.AssertBidiEchoesAsTheyArriveAsync(client);
    }

    [Fact(Timeout = 60_000)]
    public async Task BurstOfFirstRequests_ShareConnections_AtMostCeilOfBurstOverStreamCap()
    {
        // 50 requests at once to a cluster with no connection yet and max_concurrent_streams 10; each holds its stream
        // for a second (/delay), so all 50 are in flight together: ceil(50 / 10) = 5 connections at most.
        OriginServer burst = fixture.Burst;
        using HttpClient client = Client(connections: 64);
        var calls = Enumerable.Range(0, 50).Select(_ => client.GetAsync(_gateway.Url("/burst/")));
        HttpResponseMessage[] responses = await Task.WhenAll(calls);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(50, burst.Requests.Count(q => q.PathAndQuery == "/delay"));
        Assert.InRange(burst.ConnectionCount, 1, 5);
        foreach (HttpResponseMessage r in responses) r.Dispose();
        // The pool's own count, from /clusters, agrees with what the origin accepted.
        (_, string clusters) = await _gateway.AdminGetAsync("/clusters");
        JsonElement endpoint = JsonDocument.Parse(clusters).RootElement.GetProperty("clusters").EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "burst").GetProperty("endpoints")[0];
        Assert.Equal(burst.ConnectionCount, endpoint.GetProperty("http2").GetProperty("connections_opened_total").GetInt32());
    }

    [Fact(Timeout = 60_000)]
    public async Task OriginOfferingOnlyHttp11_503ConnectFailure_CountedAsAlpnMismatch()
    {
        // Kestrel serving only HTTP/1.1 refuses a client offering only h2 with the no_application_protocol alert.
        await AssertAlpnMismatchAsync("/h1only/x", expectedFailures: 1);
        Assert.Equal(0, fixture.Http11Only.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task OriginWithoutAlpn_503ConnectFailure_CountedAsAlpnMismatch()
    {
        // A TLS server that ignores ALPN completes the handshake without a protocol: the gateway refuses it itself.
        double before = await TcpProxyTests.MetricAsync(_gateway, AlpnMismatchSeries);
        await AssertAlpnMismatchAsync("/noalpn/x", expectedFailures: before + 1);
        Assert.Equal(1, fixture.NoAlpn.ConnectionCount);
    }

    private const string AlpnMismatchSeries = "fastpath_tls_handshake_failures_total{direction=\"upstream\",reason=\"alpn_mismatch\"}";

    private async Task AssertAlpnMismatchAsync(string path, double expectedFailures)
    {
        using HttpClient client = Client();
        using HttpResponseMessage r = await client.GetAsync(_gateway.Url(path));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Equal("upstream connect error\n", await r.Content.ReadAsStringAsync());
        var line = await _gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == path);
        Assert.Equal("UF", line.GetProperty("response_flags").GetString());
        await TcpProxyTests.WaitForMetricAsync(_gateway, AlpnMismatchSeries, expectedFailures);
        await _gateway.WaitForOutputAsync("failed: alpn_mismatch");
        Assert.Contains("failed: alpn_mismatch", _gateway.Stdout + _gateway.Stderr);
    }
    [Fact(Timeout = 60_000)]
    public async Task ProtocolAuto_OriginSelectsH2_RequestsGoOverHttp2()
    {
        using HttpClient client = Client();
        using HttpResponseMessage r = await client.GetAsync(_gateway.Url("/auto-h2/a"));

        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("HTTP/2", fixture.AutoHttp2.Requests.Single(q => q.PathAndQuery == "/auto-h2/a").Protocol);
    }

    [Fact(Timeout = 90_000)]
    public async Task ProtocolAuto_OriginUpgradedToH2_NextNewConnectionMovesTheEndpointBackToHttp2()
    {
        // Envoy negotiates ALPN on every new connection: an endpoint on HTTP/1.1 because its origin chose it is not
        // stuck there once the origin (redeployed on the same address) offers h2.
        var tls = new OriginTls(fixture.Pki.Issue("upgrade", [Http2TlsUpstreamFixture.OriginHost]));
        OriginServer before = await OriginServer.StartAsync("up-h1", http2: false, tls);
        int port = before.Port;
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/up/", "up")
            .Cluster("up", [before.Address], "protocol: auto",
                $"tls: {{mode: SIMPLE, sni: {Http2TlsUpstreamFixture.OriginHost}, trust_bundle: {fixture.Pki.CaFile}}}"));
        using HttpClient client = Client(connections: 1);
        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage r = await client.GetAsync(gateway.Url($"/up/h1-{i}"));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        Assert.All(before.Requests, q => Assert.Equal("HTTP/1.1", q.Protocol));
        Assert.Equal(1, before.ConnectionCount); // the idle HTTP/1.1 connection was reused, not renegotiated

        await before.DisposeAsync();
        await using OriginServer after = await OriginServer.StartAsync("up-h2", http2: true, tls, port);
        // The gateway may try its old idle connection once before it sees the origin closed it (no retry policy).
        int served = 0;
        for (int i = 0; i < 10 && served < 3; i++)
        {
            using HttpResponseMessage r = await client.GetAsync(gateway.Url($"/up/h2-{i}"));
            if (r.StatusCode == HttpStatusCode.OK) served++;
        }

        Assert.Equal(3, served);
        Assert.Equal(3, after.Requests.Count);
        Assert.All(after.Requests, q => Assert.Equal("HTTP/2", q.Protocol));
        Assert.Equal(1, after.ConnectionCount); // the connection that found h2 became the endpoint's HTTP/2 connection
    }

    [Fact(Timeout = 60_000)]
    public async Task ProtocolAuto_OriginSelectsHttp11_RequestsGoOverHttp11_OnTheConnectionAlpnChoseItFor()
    {
        using HttpClient client = Client(connections: 1);
        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage r = await client.GetAsync(_gateway.Url($"/auto-h1/{i}"));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        byte[] body = new byte[100_000];
        new Random(5).NextBytes(body);
        using HttpResponseMessage echo = await client.PostAsync(_gateway.Url("/auto-h1/post"), new ByteArrayContent(body));

        Assert.Equal(HttpStatusCode.OK, echo.StatusCode);
        OriginServer origin = fixture.AutoHttp11;
        Assert.All(origin.Requests, q => Assert.Equal("HTTP/1.1", q.Protocol));
        Assert.Equal(100_000, origin.Requests.Single(q => q.PathAndQuery == "/auto-h1/post").BodyBytes);
        // The connection opened for HTTP/2, on which ALPN chose http/1.1, served every request: no second handshake.
        Assert.Equal(1, origin.ConnectionCount);
    }
}

public sealed class Http2MutualTlsUpstreamTests
{
    [Fact(Timeout = 90_000)]
    public async Task MutualAndIstioMutual_ToHttp2OriginRequiringClientCertificates_EachPresentsItsIdentity()
    {
        using var pki = new TestPki();
        Issued backend = pki.IssueWorkload("backend", "default", "backend", dnsNames: MutualTlsTests.MeshHost);
        Issued edge = pki.IssueWorkload("edge", "istio-system", "ingress");
        Issued partner = pki.IssueWorkload("partner", "partners", "client");
        await using OriginServer origin = await OriginServer.StartAsync("mtls", http2: true, new OriginTls(backend, ClientCa: pki.Ca));
        var yaml = new GatewayYaml()
            .Route("/mutual/", "mutual")
            .Route("/", "mesh")
            .Cluster("mesh", [origin.Address], "protocol: http2",
                "tls: {mode: ISTIO_MUTUAL, subject_alt_names: [\"spiffe://cluster.local/ns/default/sa/backend\"]}")
            .Cluster("mutual", [origin.Address], "protocol: http2",
                $"tls: {{mode: MUTUAL, sni: {MutualTlsTests.MeshHost}, trust_bundle: {pki.CaFile}, cert_file: {partner.CertFile}, key_file: {partner.KeyFile}}}");
        yaml.RootYaml.AddRange([
            "mesh:",
            "  trust_domain: cluster.local",
            $"  certificate: {{cert_file: {edge.CertFile}, key_file: {edge.KeyFile}}}",
            $"  trust_bundle: {pki.CaFile}",
            "peer_authentication: {mode: DISABLE}",
        ]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        using HttpResponseMessage mesh = await client.GetAsync(gateway.Url("/istio"));
        using HttpResponseMessage mutual = await client.GetAsync(gateway.Url("/mutual/x"));

        Assert.Equal(HttpStatusCode.OK, mesh.StatusCode);
        Assert.Equal(HttpStatusCode.OK, mutual.StatusCode);
        OriginRequest viaMesh = origin.Requests.Single(q => q.PathAndQuery == "/istio");
        OriginRequest viaMutual = origin.Requests.Single(q => q.PathAndQuery == "/mutual/x");
        Assert.Equal("HTTP/2", viaMesh.Protocol);
        Assert.Equal("spiffe://cluster.local/ns/istio-system/sa/ingress", viaMesh.ClientCertificateUri);
        Assert.Equal("HTTP/2", viaMutual.Protocol);
        Assert.Equal("spiffe://cluster.local/ns/partners/sa/client", viaMutual.ClientCertificateUri);
    }
}
