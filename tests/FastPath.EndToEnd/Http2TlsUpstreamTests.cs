// HTTP/2 to origins over TLS (cluster protocol: http2 with tls) through the real gateway: Kestrel origins serving
// HTTPS with HTTP/2 only (ALPN h2), certificates from a test CA. Plain requests, large bodies both ways, trailers,
// gRPC over TLS, a burst of first requests sharing the connections being opened, mutual TLS (MUTUAL and
// ISTIO_MUTUAL) to an origin that requires client certificates, and origins that offer only http/1.1 or no ALPN.
using System.Net;
using System.Net.Http;
using FastPath.EndToEnd.Grpc;
using FastPath.EndToEnd.Testing;
using Grpc.Core;
using Grpc.Net.Client;

namespace FastPath.EndToEnd;

public sealed class Http2TlsUpstreamFixture : IAsyncLifetime
{
    public const string OriginHost = "h2.origin.test";

    public TestPki Pki { get; } = new();
    public OriginServer Origin { get; private set; } = null!;
    public OriginServer Burst { get; private set; } = null!;
    public OriginServer Http11Only { get; private set; } = null!;
    public GrpcOrigin Grpc { get; private set; } = null!;
    public TlsOrigin NoAlpn { get; } = new("noalpn.test");
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var tls = new OriginTls(Pki.Issue("h2origin", [OriginHost]));
        Origin = await OriginServer.StartAsync("h2tls", http2: true, tls);
        Burst = await OriginServer.StartAsync("burst", http2: true, tls);
        Http11Only = await OriginServer.StartAsync("h1tls", http2: false, tls);
        Grpc = await GrpcOrigin.StartAsync("gtls", tls);
        string simple = $"tls: {{mode: SIMPLE, sni: {OriginHost}, trust_bundle: {Pki.CaFile}}}";
        string noAlpnCa = Path.Combine(Pki.Directory, "noalpn.pem");
        await File.WriteAllTextAsync(noAlpnCa, NoAlpn.Certificate.ExportCertificatePem() + "\n");
        Gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/burst/", "burst", null, "rewrite: {prefix: /delay}")
            .Route("/h1only/", "h1only")
            .Route("/noalpn/", "noalpn")
            .Route("/fastpath.test.Echo/", "grpc", "30s")
            .Route("/", "h2tls")
            .Cluster("h2tls", [Origin.Address], "protocol: http2", simple)
            .Cluster("burst", [Burst.Address], "protocol: http2", simple, "http2: {max_concurrent_streams: 10}")
            .Cluster("h1only", [Http11Only.Address], "protocol: http2", simple)
            .Cluster("noalpn", [NoAlpn.Address], "protocol: http2", $"tls: {{mode: SIMPLE, sni: noalpn.test, trust_bundle: {noAlpnCa}}}")
            .Cluster("grpc", [Grpc.Address], "protocol: http2", simple), accessLog: true);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
        await Burst.DisposeAsync();
        await Http11Only.DisposeAsync();
        await Grpc.DisposeAsync();
        await NoAlpn.DisposeAsync();
        Pki.Dispose();
    }
}

public sealed class Http2TlsUpstreamTests(Http2TlsUpstreamFixture fixture) : IClassFixture<Http2TlsUpstreamFixture>
{
    private readonly GatewayProcess _gateway = fixture.Gateway;
    private readonly OriginServer _origin = fixture.Origin;

    private static HttpClient Client(int connections = 4) =>
        new(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = connections }) { Timeout = TimeSpan.FromSeconds(30) };

    [Fact(Timeout = 60_000)]
    public async Task Get_ReachesOriginOverTlsAsHttp2()
    {
        using HttpClient client = Client();
        using HttpResponseMessage r = await client.GetAsync(_gateway.Url("/plain?q=1"));

        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("origin=h2tls GET /plain?q=1\n", await r.Content.ReadAsStringAsync());
        OriginRequest seen = _origin.Requests.Last(q => q.PathAndQuery == "/plain?q=1");
        Assert.Equal("HTTP/2", seen.Protocol);
        Assert.Equal($"127.0.0.1:{_gateway.Port}", seen.Header("host"));
        Assert.True(await TcpProxyTests.MetricAsync(_gateway, "fastpath_tls_handshakes_total{direction=\"upstream\"}") >= 1);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(0)]
    [InlineData(3 * 1024 * 1024)]
    public async Task Post_LargeBodyEchoedBothWays(int size)
    {
        byte[] body = new byte[size];
        new Random(size).NextBytes(body);
        using HttpClient client = Client();
        using HttpResponseMessage r = await client.PostAsync(_gateway.Url("/echo"), new ByteArrayContent(body));

        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(body, await r.Content.ReadAsByteArrayAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task Download_EightMiB_ArrivesWhole()
    {
        using HttpClient client = Client();
        byte[] body = await client.GetByteArrayAsync(_gateway.Url("/download?bytes=8388608"));
        Assert.Equal(8 * 1024 * 1024, body.Length);
    }

    [Fact(Timeout = 60_000)]
    public async Task ChunkedRequestWithTrailers_TrailersReachOrigin()
    {
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(_gateway.Port);
        await client.SendAsync("POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-sum: 5\r\n\r\n");
        RawResponse r = await client.ReadResponseAsync();

        Assert.Equal(200, r.Status);
        Assert.Equal("origin=h2tls bytes=5\n", r.BodyText);
        Assert.Equal("5", _origin.Requests.Last(q => q.PathAndQuery == "/count").Trailers["x-sum"]);
    }

    private GrpcChannel Channel() => GrpcChannel.ForAddress($"http://127.0.0.1:{_gateway.Port}", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false, UseProxy = false },
    });

    [Fact(Timeout = 60_000)]
    public async Task GrpcUnary_OverTlsUpstream_HeadersAndTrailersCross()
    {
        using GrpcChannel channel = Channel();
        var client = new Echo.EchoClient(channel);
        using AsyncUnaryCall<EchoReply> call = client.UnaryAsync(new EchoRequest { Message = "tls" }, new Metadata { { "x-meta", "v1" } });

        EchoReply reply = await call;
        Assert.Equal("tls", reply.Message);
        Assert.Equal("gtls", (await call.ResponseHeadersAsync).GetValue("x-origin-id"));
        Assert.Equal("gtls", call.GetTrailers().GetValue("x-origin-trailer"));
        Assert.Equal("v1", fixture.Grpc.LastRequestHeaders["x-meta"]);
    }

    [Fact(Timeout = 60_000)]
    public async Task GrpcStreaming_ServerAndBidi_OverTlsUpstream()
    {
        using GrpcChannel channel = Channel();
        var client = new Echo.EchoClient(channel);
        using AsyncServerStreamingCall<EchoReply> stream = client.ServerStream(new EchoRequest { Message = "s", Count = 200 });
        int expected = 0;
        await foreach (EchoReply reply in stream.ResponseStream.ReadAllAsync()) Assert.Equal(expected++, reply.Index);
        Assert.Equal(200, expected);
        Assert.Equal(StatusCode.OK, stream.GetStatus().StatusCode);

        using AsyncDuplexStreamingCall<EchoRequest, EchoReply> bidi = client.Bidi();
        for (int i = 0; i < 20; i++)
        {
            await bidi.RequestStream.WriteAsync(new EchoRequest { Message = "m" + i });
            Assert.True(await bidi.ResponseStream.MoveNext());
            Assert.Equal("m" + i, bidi.ResponseStream.Current.Message);
        }
        await bidi.RequestStream.CompleteAsync();
        Assert.False(await bidi.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, bidi.GetStatus().StatusCode);
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
        Assert.Contains("failed: alpn_mismatch", _gateway.Stdout + _gateway.Stderr);
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
