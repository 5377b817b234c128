// TLS termination on a listener, with real clients: openssl s_client for SNI certificate choice (exact, wildcard,
// default), ALPN, session resumption and old protocol versions; curl over https; and certificate rotation on disk
// under a stream of new handshakes and a keep-alive connection, with no failed request.
using System.Diagnostics;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class TlsTerminationTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>A test CA, a certificate for edge.example.com and an origin, for the tests with one certificate.</summary>
    private sealed class EdgeSetup : IAsyncDisposable
    {
        public required TestPki Pki { get; init; }
        public required Issued Cert { get; init; }
        public required OriginServer Origin { get; init; }

        public static async Task<EdgeSetup> CreateAsync()
        {
            var pki = new TestPki();
            return new EdgeSetup { Pki = pki, Cert = pki.Issue("edge", ["edge.example.com"]), Origin = await OriginServer.StartAsync("app") };
        }

        /// <summary>A gateway terminating with the certificate; more tls fields as YAML lines.</summary>
        public Task<GatewayProcess> StartGatewayAsync(params string[] tlsLines) =>
            GatewayProcess.StartAsync(Edge(Origin, ["certificates:", "  " + Cert(Cert), .. tlsLines]));

        public async ValueTask DisposeAsync()
        {
            await Origin.DisposeAsync();
            Pki.Dispose();
        }
    }

    private static GatewayYaml Edge(OriginServer origin, params string[] tlsLines)
    {
        var yaml = new GatewayYaml().Route("/", "app").Cluster("app", origin.Address);
        yaml.ListenerYaml.Add("tls:");
        foreach (string line in tlsLines) yaml.ListenerYaml.Add("  " + line);
        return yaml;
    }

    private static string Cert(Issued c, params string[] names) => names.Length == 0
        ? $"- {{cert_file: {c.CertFile}, key_file: {c.KeyFile}}}"
        : $"- {{cert_file: {c.CertFile}, key_file: {c.KeyFile}, server_names: [{string.Join(", ", names.Select(n => $"\"{n}\""))}]}}";

    private static Task<ToolResult> OpensslAsync(int port, params string[] extra) =>
        ExternalTool.RunAsync("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", .. extra], Limit,
            "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"u8.ToArray());

    private static string Subject(ToolResult r) => Regex.Match(r.Stdout, @"subject=\s*CN\s*=\s*(\S+)").Groups[1].Value;

    [Fact(Timeout = 60_000)]
    public async Task Openssl_Sni_ExactWildcardAndDefaultCertificates()
    {
        using var pki = new TestPki();
        Issued shop = pki.Issue("shop", ["shop.example.com", "*.shop.example.com"]);
        Issued deep = pki.Issue("deep", ["eu.api.shop.example.com"]);
        Issued api = pki.Issue("api", ["api.example.com"]);
        Issued fallback = pki.Issue("default", ["default.example.com"]);
        await using OriginServer origin = await OriginServer.StartAsync("app");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(Edge(origin, "certificates:",
            "  " + Cert(shop, "shop.example.com", "*.shop.example.com"),
            "  " + Cert(deep, "*.api.shop.example.com"),
            "  " + Cert(api, "api.example.com"),
            "  " + Cert(fallback)));

        Assert.Equal("shop.example.com", Subject(await OpensslAsync(gateway.Port, "-servername", "shop.example.com")));
        Assert.Equal("shop.example.com", Subject(await OpensslAsync(gateway.Port, "-servername", "v2.shop.example.com")));
        // The longest wildcard suffix wins.
        Assert.Equal("eu.api.shop.example.com", Subject(await OpensslAsync(gateway.Port, "-servername", "eu.api.shop.example.com")));
        Assert.Equal("api.example.com", Subject(await OpensslAsync(gateway.Port, "-servername", "API.example.com")));
        Assert.Equal("default.example.com", Subject(await OpensslAsync(gateway.Port, "-servername", "unknown.example.org")));
        Assert.Equal("default.example.com", Subject(await OpensslAsync(gateway.Port, "-noservername")));
        ToolResult served = await OpensslAsync(gateway.Port, "-servername", "shop.example.com", "-CAfile", pki.CaFile, "-ign_eof");
        Assert.Contains("Verify return code: 0 (ok)", served.Stdout);
        Assert.Contains("x-origin-id: app", served.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task Alpn_DefaultOffersH2ThenHttp11_ConfiguredHttp11Only()
    {
        await using EdgeSetup edge = await EdgeSetup.CreateAsync();
        await using GatewayProcess byDefault = await edge.StartGatewayAsync();
        await using GatewayProcess http11 = await edge.StartGatewayAsync("alpn: [http/1.1]");

        ToolResult negotiatedH2 = await OpensslAsync(byDefault.Port, "-servername", "edge.example.com", "-alpn", "h2,http/1.1");
        ToolResult h11Only = await OpensslAsync(byDefault.Port, "-servername", "edge.example.com", "-alpn", "http/1.1");
        ToolResult configured = await OpensslAsync(http11.Port, "-servername", "edge.example.com", "-alpn", "h2,http/1.1");
        ToolResult none = await OpensslAsync(byDefault.Port, "-servername", "edge.example.com");

        Assert.Contains("ALPN protocol: h2", negotiatedH2.Stdout);
        Assert.Contains("ALPN protocol: http/1.1", h11Only.Stdout);
        Assert.Contains("ALPN protocol: http/1.1", configured.Stdout);
        Assert.Contains("No ALPN negotiated", none.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task Curl_Https_AlpnH2_ServedOverHttp2()
    {
        await using EdgeSetup edge = await EdgeSetup.CreateAsync();
        await using GatewayProcess gateway = await edge.StartGatewayAsync();

        ToolResult curl = await ExternalTool.CurlAsync(["--http2", "--cacert", edge.Pki.CaFile, "--resolve", $"edge.example.com:{gateway.Port}:127.0.0.1",
            "-w", "\n%{http_code} %{http_version}", $"https://edge.example.com:{gateway.Port}/h2", $"https://edge.example.com:{gateway.Port}/h2-again"]);

        Assert.True(curl.ExitCode == 0, curl.ToString());
        Assert.Equal(2, Regex.Matches(curl.Stdout, "200 2").Count);
        Assert.Contains(edge.Origin.Requests, r => r.PathAndQuery == "/h2-again" && r.Header("x-forwarded-proto") == "https");
        Assert.Equal(1, await TcpProxyTests.MetricAsync(gateway, "fastpath_tls_handshakes_total{direction=\"downstream\"}"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Curl_Https_Served_OriginSeesForwardedProtoHttps()
    {
        await using EdgeSetup edge = await EdgeSetup.CreateAsync();
        await using GatewayProcess gateway = await edge.StartGatewayAsync();

        ToolResult curl = await ExternalTool.CurlAsync(["--http1.1", "--cacert", edge.Pki.CaFile, "--resolve", $"edge.example.com:{gateway.Port}:127.0.0.1",
            "-w", "\n%{http_code} %{http_version}", $"https://edge.example.com:{gateway.Port}/hello", $"https://edge.example.com:{gateway.Port}/again"]);

        Assert.True(curl.ExitCode == 0, curl.ToString());
        Assert.Equal(2, Regex.Matches(curl.Stdout, "200 1.1").Count);
        Assert.All(edge.Origin.Requests, r => Assert.Equal("https", r.Header("x-forwarded-proto")));
        // curl reused its connection for the second URL: one handshake.
        Assert.Equal(1, await TcpProxyTests.MetricAsync(gateway, "fastpath_tls_handshakes_total{direction=\"downstream\"}"));
    }

    [Theory(Timeout = 60_000)]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task SessionResumption_SecondConnectionReusesTheSession(string version)
    {
        await using EdgeSetup edge = await EdgeSetup.CreateAsync();
        await using GatewayProcess gateway = await edge.StartGatewayAsync();
        string session = Path.Combine(edge.Pki.Directory, "session.pem");

        // -ign_eof reads the response to its end, so a TLS 1.3 ticket (sent after the handshake) is received.
        ToolResult first = await OpensslAsync(gateway.Port, version, "-servername", "edge.example.com", "-sess_out", session, "-ign_eof");
        ToolResult second = await OpensslAsync(gateway.Port, version, "-servername", "edge.example.com", "-sess_in", session, "-ign_eof");

        Assert.Contains("New, TLS", first.Stdout);
        Assert.Contains("Reused, TLS", second.Stdout);
        Assert.Contains("HTTP/1.1 200", second.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task OldOrDisabledProtocolVersions_RejectedAndCountedProtocolVersion()
    {
        await using EdgeSetup edge = await EdgeSetup.CreateAsync();
        await using GatewayProcess gateway = await edge.StartGatewayAsync();
        await using GatewayProcess tls13 = await edge.StartGatewayAsync("min_version: TLSv1_3");

        ToolResult tls11 = await OpensslAsync(gateway.Port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", "-servername", "edge.example.com");
        ToolResult tls12 = await OpensslAsync(tls13.Port, "-tls1_2", "-servername", "edge.example.com");

        Assert.NotEqual(0, tls11.ExitCode);
        Assert.NotEqual(0, tls12.ExitCode);
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_handshake_failures_total{direction=\"downstream\",reason=\"protocol_version\"}", 1);
        await TcpProxyTests.WaitForMetricAsync(tls13, "fastpath_tls_handshake_failures_total{direction=\"downstream\",reason=\"protocol_version\"}", 1);
        Assert.Equal(0, edge.Origin.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task IdleTlsConnection_ClosedByIdleTimeout_HalfSentHead_408_Deadlines()
    {
        // The deadlines cancel pending reads of the TLS pipe (through SslStream to the transport): an idle
        // keep-alive connection is closed at idle_timeout, a head that stops arriving is answered 408.
        await using EdgeSetup edge = await EdgeSetup.CreateAsync();
        GatewayYaml yaml = Edge(edge.Origin, "certificates:", "  " + Cert(edge.Cert)).Limit("idle_timeout", "1s").Limit("header_read_timeout", "1s");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        using var cts = new CancellationTokenSource(Limit);

        await using TlsClient idle = await TlsClient.ConnectAsync(gateway.Port, "edge.example.com", edge.Pki.CaFile, cancel: cts.Token);
        Assert.Equal(200, (await idle.GetAsync("/one", "edge.example.com", cts.Token)).Status);
        var sw = Stopwatch.StartNew();
        int read;
        try
        {
            read = await idle.Ssl.ReadAsync(new byte[1], cts.Token);
        }
        catch (IOException)
        {
            read = 0; // closed without close_notify: also a close
        }
        Assert.Equal(0, read);
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.5, 10);

        await using TlsClient slow = await TlsClient.ConnectAsync(gateway.Port, "edge.example.com", edge.Pki.CaFile, cancel: cts.Token);
        await slow.Ssl.WriteAsync("GET /slow HTTP/1.1\r\nHost: edge"u8.ToArray(), cts.Token);
        byte[] answer = new byte[12];
        await slow.Ssl.ReadExactlyAsync(answer, cts.Token);
        Assert.Equal("HTTP/1.1 408", System.Text.Encoding.ASCII.GetString(answer));

        await using TlsClient fresh = await TlsClient.ConnectAsync(gateway.Port, "edge.example.com", edge.Pki.CaFile, cancel: cts.Token);
        Assert.Equal(200, (await fresh.GetAsync("/two", "edge.example.com", cts.Token)).Status);
    }

    [Fact(Timeout = 90_000)]
    public async Task CertificateRotation_UnderLoad_NewHandshakesGetNewCertificate_NoRequestFails()
    {
        using var pki = new TestPki();
        Issued first = pki.Issue("first", ["rotate.example.com"]);
        Issued second = pki.Issue("second", ["rotate.example.com"]);
        string liveCert = Path.Combine(pki.Directory, "live.pem"), liveKey = Path.Combine(pki.Directory, "live.key");
        File.Copy(first.CertFile, liveCert);
        File.Copy(first.KeyFile, liveKey);
        await using OriginServer origin = await OriginServer.StartAsync("app");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(Edge(origin, "certificates:",
            $"  - {{cert_file: {liveCert}, key_file: {liveKey}}}"));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        await using TlsClient keptAlive = await TlsClient.ConnectAsync(gateway.Port, "rotate.example.com", pki.CaFile, cancel: cts.Token);
        Assert.Equal(first.Thumbprint, keptAlive.ServerCertificate.Thumbprint);
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        int failures = 0, requests = 0, keepAliveRequests = 0;
        string? lastError = null;
        bool rotated = false;
        using var stop = new CancellationTokenSource();

        async Task NewConnectionsAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await using TlsClient c = await TlsClient.ConnectAsync(gateway.Port, "rotate.example.com", pki.CaFile, cancel: cts.Token);
                    (int status, _) = await c.GetAsync("/new", "rotate.example.com", cts.Token);
                    if (status != 200) throw new IOException($"status {status}");
                    seen.AddOrUpdate(c.ServerCertificate.Thumbprint, 1, (_, n) => n + 1);
                    Interlocked.Increment(ref requests);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref failures);
                    lastError = e.ToString();
                }
            }
        }

        async Task KeepAliveAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    (int status, _) = await keptAlive.GetAsync("/kept", "rotate.example.com", cts.Token);
                    if (status != 200) throw new IOException($"status {status}");
                    Interlocked.Increment(ref keepAliveRequests);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref failures);
                    lastError = e.ToString();
                    return;
                }
            }
        }

        Task[] load = [NewConnectionsAsync(), NewConnectionsAsync(), NewConnectionsAsync(), KeepAliveAsync()];
        await Task.Delay(1000);
        // What a secret mount or cert-manager does: new files renamed into place (the key first, so for a moment
        // the pair does not match; the gateway keeps the old certificate until it does).
        File.Copy(second.KeyFile, liveKey + ".tmp");
        File.Move(liveKey + ".tmp", liveKey, overwrite: true);
        await Task.Delay(300);
        File.Copy(second.CertFile, liveCert + ".tmp");
        File.Move(liveCert + ".tmp", liveCert, overwrite: true);
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10) && !(rotated = seen.ContainsKey(second.Thumbprint))) await Task.Delay(50);
        await Task.Delay(1000); // more load on the new certificate
        stop.Cancel();
        await Task.WhenAll(load);

        Assert.True(failures == 0, $"{failures} failed requests of {requests} + {keepAliveRequests}: {lastError}");
        Assert.True(rotated, "no handshake used the new certificate within 10 s");
        Assert.True(seen.GetValueOrDefault(first.Thumbprint) > 0, "no handshake used the first certificate");
        Assert.True(keepAliveRequests > 10, $"only {keepAliveRequests} keep-alive requests");
        Assert.Equal(first.Thumbprint, keptAlive.ServerCertificate.Thumbprint); // the connection made before stays up
        await gateway.WaitForOutputAsync("Certificate reloaded");
        Assert.Contains("Certificate reloaded", gateway.Stdout + gateway.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task BadTlsConfig_RefusedAtStart_NamesFileLineAndField()
    {
        using var pki = new TestPki();
        Issued cert = pki.Issue("edge", ["edge.example.com"]);
        Issued other = pki.Issue("other", ["other.example.com"]);
        string dir = Path.Combine(pki.Directory, "bad");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "gateway.yaml");
        await File.WriteAllTextAsync(path, $$"""
            peer_authentication: {mode: STRICT}
            listeners:
              - name: edge
                address: 127.0.0.1:1
                tls:
                  certificates:
                    - {cert_file: {{cert.CertFile}}, key_file: {{other.KeyFile}}}
                    - {cert_file: missing.pem, key_file: missing.key}
                  min_version: TLSv1_0
                  alpn: [h3]
                virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: app}]}]
              - name: inbound
                address: 127.0.0.1:2
                virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: app}]}]
            clusters:
              - name: app
                endpoints: [127.0.0.1:3]
                tls: {mode: ISTIO_MUTUAL, sidecar: true}
            """);

        ToolResult r = await GatewayProcess.RunToExitAsync(["--config", path, "--check"], TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, r.ExitCode);
        string errors = r.Stdout + r.Stderr;
        Assert.Contains("listeners[0].tls.certificates[0].cert_file", errors);
        Assert.Contains("listeners[0].tls.certificates[1].cert_file", errors);
        Assert.Contains("gateway.yaml:9:", errors); // min_version's line
        Assert.Contains("listeners[0].tls.min_version", errors);
        Assert.Contains("listeners[0].tls.alpn[0]", errors);
        Assert.Contains("peer_authentication.mode", errors); // STRICT on 'inbound' without a mesh
        Assert.Contains("clusters[0].tls.sidecar", errors); // unknown field
        Assert.Contains("clusters[0].tls.mode", errors); // ISTIO_MUTUAL without a mesh
    }
}
