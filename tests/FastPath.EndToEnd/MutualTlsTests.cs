// Mesh mTLS with SPIFFE workload identities: PeerAuthentication STRICT and PERMISSIVE on a real gateway, peers with
// good, missing, untrusted, expired and foreign-trust-domain certificates (curl, openssl, plaintext sockets), the
// verified principal in the access log, and ISTIO_MUTUAL origination from one gateway to another that requires
// client certificates (client -> FastPath -> mTLS -> FastPath -> origin).
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class MutualTlsTests
{
    internal const string MeshHost = "backend.mesh.test";

    /// <summary>A sidecar-like gateway: the mesh identity sa/backend, PeerAuthentication as given, routes to the origin.</summary>
    internal static GatewayYaml MeshGateway(TestPki pki, Issued identity, string mode, OriginServer origin)
    {
        var yaml = new GatewayYaml().Route("/", "app").Cluster("app", origin.Address);
        yaml.RootYaml.AddRange([
            "mesh:",
            "  trust_domain: cluster.local",
            $"  certificate: {{cert_file: {identity.CertFile}, key_file: {identity.KeyFile}}}",
            $"  trust_bundle: {pki.CaFile}",
            $"peer_authentication: {{mode: {mode}}}",
        ]);
        return yaml;
    }

    /// <summary>A test CA, the sidecar's identity (sa/backend, also valid for MeshHost) and a client's (shop/sleep).</summary>
    private static (TestPki Pki, Issued Server, Issued Client) MeshPki()
    {
        var pki = new TestPki();
        return (pki, pki.IssueWorkload("backend", "default", "backend", dnsNames: MeshHost), pki.IssueWorkload("sleep", "shop", "sleep"));
    }

    internal static Task<ToolResult> CurlMtlsAsync(TestPki pki, int port, Issued? client, string path = "/")
    {
        var args = new List<string> { "--cacert", pki.CaFile, "--resolve", $"{MeshHost}:{port}:127.0.0.1", "-o", "/dev/null", "-w", "%{http_code}" };
        if (client is not null) args.AddRange(["--cert", client.CertFile, "--key", client.KeyFile]);
        args.Add($"https://{MeshHost}:{port}{path}");
        return ExternalTool.CurlAsync(args);
    }

    [Fact(Timeout = 60_000)]
    public async Task Strict_CurlWithWorkloadCertificate_Served_PrincipalInAccessLog()
    {
        (TestPki pki, Issued server, Issued client) = MeshPki();
        using TestPki _ = pki;
        await using OriginServer origin = await OriginServer.StartAsync("app");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(MeshGateway(pki, server, "STRICT", origin), accessLog: true);

        ToolResult curl = await CurlMtlsAsync(pki, gateway.Port, client, "/hello");

        Assert.True(curl.ExitCode == 0 && curl.Stdout == "200", curl.ToString());
        var line = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/hello");
        Assert.Equal("cluster.local/ns/shop/sa/sleep", line.GetProperty("downstream_peer_principal").GetString());
        Assert.Equal("https", origin.Requests.Last().Header("x-forwarded-proto"));
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_handshakes_total{direction=\"downstream\"}", 1);
    }

    [Fact(Timeout = 90_000)]
    public async Task Strict_NoCert_UntrustedCa_Expired_WrongTrustDomain_Plaintext_RejectedAndCountedByReason()
    {
        using var pki = new TestPki();
        using var rogue = new TestPki("Rogue CA");
        Issued server = pki.IssueWorkload("backend", "default", "backend", dnsNames: MeshHost);
        Issued good = pki.IssueWorkload("sleep", "shop", "sleep");
        Issued untrusted = rogue.IssueWorkload("intruder", "shop", "sleep");
        Issued expired = pki.Issue("expired", uris: ["spiffe://cluster.local/ns/shop/sa/old"],
            notBefore: DateTimeOffset.UtcNow.AddDays(-10), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        Issued foreign = pki.IssueWorkload("foreign", "shop", "sleep", trustDomain: "other.example");
        await using OriginServer origin = await OriginServer.StartAsync("app");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(MeshGateway(pki, server, "STRICT", origin));

        ToolResult noCert = await CurlMtlsAsync(pki, gateway.Port, null);
        ToolResult badCa = await CurlMtlsAsync(pki, gateway.Port, untrusted);
        ToolResult old = await CurlMtlsAsync(pki, gateway.Port, expired);
        ToolResult wrongDomain = await CurlMtlsAsync(pki, gateway.Port, foreign);
        ToolResult plaintext = await ExternalTool.CurlAsync(["-o", "/dev/null", "-w", "%{http_code}", gateway.Url("/").ToString()]);

        foreach (ToolResult r in new[] { noCert, badCa, old, wrongDomain, plaintext })
            Assert.True(r.ExitCode != 0 && r.Stdout == "000", r.ToString());
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_handshake_failures_total{direction=\"downstream\",reason=\"no_client_cert\"}", 1);
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_handshake_failures_total{direction=\"downstream\",reason=\"unknown_ca\"}", 1);
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_handshake_failures_total{direction=\"downstream\",reason=\"expired\"}", 1);
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_handshake_failures_total{direction=\"downstream\",reason=\"wrong_san\"}", 1);
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_handshake_failures_total{direction=\"downstream\",reason=\"plaintext\"}", 1);
        Assert.Equal(0, origin.RequestCount);
        await gateway.WaitForOutputAsync("failed: no_client_cert");
        Assert.Contains("failed: no_client_cert", gateway.Stdout + gateway.Stderr);
        await gateway.WaitForOutputAsync("failed: plaintext");
        Assert.Contains("failed: plaintext", gateway.Stdout + gateway.Stderr);
        // Still serving: the rejections cost the listener nothing.
        ToolResult ok = await CurlMtlsAsync(pki, gateway.Port, good);
        Assert.True(ok.Stdout == "200", ok.ToString());
        Assert.False(gateway.HasExited);
    }

    [Fact(Timeout = 60_000)]
    public async Task Permissive_PlaintextAndMtlsOnOnePort_BothServed_OnlyMtlsHasPrincipal()
    {
        (TestPki pki, Issued server, Issued client) = MeshPki();
        using TestPki _ = pki;
        await using OriginServer origin = await OriginServer.StartAsync("app");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(MeshGateway(pki, server, "PERMISSIVE", origin), accessLog: true);

        ToolResult plain = await ExternalTool.CurlAsync(["-o", "/dev/null", "-w", "%{http_code}", gateway.Url("/plain").ToString()]);
        ToolResult mtls = await CurlMtlsAsync(pki, gateway.Port, client, "/mtls");

        Assert.True(plain.Stdout == "200", plain.ToString());
        Assert.True(mtls.Stdout == "200", mtls.ToString());
        var plainLine = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/plain");
        var mtlsLine = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/mtls");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, plainLine.GetProperty("downstream_peer_principal").ValueKind);
        Assert.Equal("cluster.local/ns/shop/sa/sleep", mtlsLine.GetProperty("downstream_peer_principal").GetString());
        Assert.Equal("http", origin.Requests.First(r => r.PathAndQuery == "/plain").Header("x-forwarded-proto"));
        Assert.Equal("https", origin.Requests.First(r => r.PathAndQuery == "/mtls").Header("x-forwarded-proto"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Permissive_TlsWithoutClientCertificate_Rejected()
    {
        // PERMISSIVE lets plaintext through; TLS on it is still mutual (Istio): a TLS client without a certificate fails.
        using var pki = new TestPki();
        Issued server = pki.IssueWorkload("backend", "default", "backend", dnsNames: MeshHost);
        await using OriginServer origin = await OriginServer.StartAsync("app");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(MeshGateway(pki, server, "PERMISSIVE", origin));

        ToolResult noCert = await CurlMtlsAsync(pki, gateway.Port, null);

        Assert.True(noCert.Stdout == "000", noCert.ToString());
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_handshake_failures_total{direction=\"downstream\",reason=\"no_client_cert\"}", 1);
    }

    /// <summary>The edge gateway: plaintext listener, one cluster to the sidecar gateway over ISTIO_MUTUAL.</summary>
    private static GatewayYaml EdgeToMesh(TestPki pki, Issued identity, int sidecarPort, string expectedSan)
    {
        var yaml = new GatewayYaml().Route("/", "backend")
            .Cluster("backend", [$"127.0.0.1:{sidecarPort}"], $"tls: {{mode: ISTIO_MUTUAL, subject_alt_names: [\"{expectedSan}\"]}}");
        yaml.RootYaml.AddRange([
            "mesh:",
            "  trust_domain: cluster.local",
            $"  certificate: {{cert_file: {identity.CertFile}, key_file: {identity.KeyFile}}}",
            $"  trust_bundle: {pki.CaFile}",
            "peer_authentication: {mode: DISABLE}",
        ]);
        return yaml;
    }

    [Fact(Timeout = 90_000)]
    public async Task IstioMutual_ProxyToProxy_OriginReached_EachSideSeesTheOthersIdentity()
    {
        using var pki = new TestPki();
        Issued backend = pki.IssueWorkload("backend", "default", "backend");
        Issued edge = pki.IssueWorkload("edge", "istio-system", "ingress");
        await using OriginServer origin = await OriginServer.StartAsync("app");
        await using GatewayProcess sidecar = await GatewayProcess.StartAsync(MeshGateway(pki, backend, "STRICT", origin), accessLog: true);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(
            EdgeToMesh(pki, edge, sidecar.Port, "spiffe://cluster.local/ns/default/sa/backend"));

        for (int i = 0; i < 5; i++)
        {
            ToolResult r = await ExternalTool.CurlAsync(["-o", "/dev/null", "-w", "%{http_code}", gateway.Url($"/hop{i}").ToString()]);
            Assert.True(r.Stdout == "200", r.ToString());
        }

        // A 1 MiB upload and a 1 MiB download cross both TLS hops intact (bodies stream through SslStream both ways).
        string upload = Path.Combine(pki.Directory, "upload.bin");
        await File.WriteAllBytesAsync(upload, new byte[1024 * 1024]);
        ToolResult post = await ExternalTool.CurlAsync(["-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + upload,
            gateway.Url("/upload").ToString()]);
        ToolResult big = await ExternalTool.CurlAsync(["-o", "/dev/null", "-w", "%{http_code} %{size_download}", gateway.Url("/download?bytes=1048576").ToString()]);
        Assert.True(post.Stdout == "200", post.ToString());
        Assert.Equal(1024 * 1024, origin.Requests.Single(r => r.PathAndQuery == "/upload").BodyBytes);
        Assert.True(big.Stdout == "200 1048576", big.ToString());

        var line = await sidecar.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/hop4");
        Assert.Equal("cluster.local/ns/istio-system/sa/ingress", line.GetProperty("downstream_peer_principal").GetString());
        Assert.Equal(7, origin.RequestCount);
        // Keep-alive over the mTLS hop: one upstream handshake served every request.
        Assert.Equal(1, await TcpProxyTests.MetricAsync(gateway, "fastpath_tls_handshakes_total{direction=\"upstream\"}"));
    }

    [Fact(Timeout = 90_000)]
    public async Task IstioMutual_HttpHealthCheck_ProbesOverMtls_EndpointStaysHealthy()
    {
        using var pki = new TestPki();
        Issued backend = pki.IssueWorkload("backend", "default", "backend");
        Issued edge = pki.IssueWorkload("edge", "istio-system", "ingress");
        await using OriginServer origin = await OriginServer.StartAsync("app");
        await using GatewayProcess sidecar = await GatewayProcess.StartAsync(MeshGateway(pki, backend, "STRICT", origin));
        GatewayYaml yaml = EdgeToMesh(pki, edge, sidecar.Port, "spiffe://cluster.local/ns/default/sa/backend");
        yaml.Cluster("checked", [$"127.0.0.1:{sidecar.Port}"], "tls: {mode: ISTIO_MUTUAL}",
            "health_check: {http: {path: /healthz}, interval: 200ms, timeout: 2s, unhealthy_threshold: 1}");
        yaml.RawRoute("match: {prefix: /checked}\ncluster: checked");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);

        // The STRICT sidecar answers only mTLS: probes reach the origin only if they carry the mesh certificate.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline && origin.Requests.Count(r => r.PathAndQuery == "/healthz") < 3) await Task.Delay(100);
        Assert.True(origin.Requests.Count(r => r.PathAndQuery == "/healthz") >= 3, "fewer than 3 probes reached the origin");
        Assert.Contains("FastPath-HealthChecker", origin.Requests.First(r => r.PathAndQuery == "/healthz").Header("user-agent"));
        ToolResult r = await ExternalTool.CurlAsync(["-o", "/dev/null", "-w", "%{http_code}", gateway.Url("/checked").ToString()]);
        Assert.True(r.Stdout == "200", r.ToString());
        (_, string clusters) = await gateway.AdminGetAsync("/clusters");
        Assert.DoesNotContain("failed_active_hc", clusters);
    }

    [Fact(Timeout = 90_000)]
    public async Task IstioMutual_PeerWithUnexpectedIdentity_503_CountedWrongSan()
    {
        using var pki = new TestPki();
        Issued backend = pki.IssueWorkload("backend", "default", "backend");
        Issued edge = pki.IssueWorkload("edge", "istio-system", "ingress");
        await using OriginServer origin = await OriginServer.StartAsync("app");
        await using GatewayProcess sidecar = await GatewayProcess.StartAsync(MeshGateway(pki, backend, "STRICT", origin));
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(
            EdgeToMesh(pki, edge, sidecar.Port, "spiffe://cluster.local/ns/default/sa/payments"));

        ToolResult r = await ExternalTool.CurlAsync(["-o", "/dev/null", "-w", "%{http_code}", gateway.Url("/").ToString()]);

        Assert.True(r.Stdout == "503", r.ToString());
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_handshake_failures_total{direction=\"upstream\",reason=\"wrong_san\"}", 1);
        Assert.Equal(0, origin.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task TcpProxyChain_TerminatesMtls_RelaysPlaintextToOrigin()
    {
        // Istio's inbound for TCP: terminate mTLS with the mesh identity, then relay bytes.
        using var pki = new TestPki();
        Issued backend = pki.IssueWorkload("backend", "default", "backend", dnsNames: MeshHost);
        Issued client = pki.IssueWorkload("sleep", "shop", "sleep");
        await using RawOrigin echo = TcpProxyTests.EchoOrigin();
        var yaml = new GatewayYaml().Cluster("echo", echo.Address);
        yaml.RootYaml.AddRange([
            "mesh:",
            "  trust_domain: cluster.local",
            $"  certificate: {{cert_file: {backend.CertFile}, key_file: {backend.KeyFile}}}",
            $"  trust_bundle: {pki.CaFile}",
        ]);
        yaml.ListenerYaml.AddRange([
            "filter_chains:",
            "  - name: tcp",
            "    tls: {client_certificate: required}",
            "    tcp_proxy: {cluster: echo}",
        ]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using TlsClient tls = await TlsClient.ConnectAsync(gateway.Port, MeshHost, pki.CaFile, client, cancel: cts.Token);
        await tls.Ssl.WriteAsync("hello over mtls\n"u8.ToArray(), cts.Token);
        byte[] echoed = new byte[16];
        await tls.Ssl.ReadExactlyAsync(echoed, cts.Token);

        Assert.Equal("hello over mtls\n", Encoding.ASCII.GetString(echoed));
        await TcpProxyTests.WaitForMetricAsync(gateway, "istio_tcp_connections_opened_total{cluster=\"echo\"}", 1);
    }
}
