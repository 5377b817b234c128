// TLS passthrough by SNI: the TLS inspector peeks at the ClientHello and the chain for the server name relays the
// untouched TLS stream to its origin (the gateway never terminates it: the client sees the origin's own
// certificate). Also ALPN-based selection, the default HTTP chain for plaintext on the same port, unknown names,
// and filter-chain errors at start-up.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class TlsPassthroughTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private static GatewayYaml PassthroughConfig(TlsOrigin a, TlsOrigin b, OriginServer? http)
    {
        var yaml = new GatewayYaml().Cluster("a", a.Address).Cluster("b", b.Address);
        if (http is not null) yaml.Route("/", "http").Cluster("http", http.Address);
        yaml.ListenerYaml.AddRange([
            "filter_chains:",
            "  - name: to-a",
            "    match:",
            "      server_names: [\"a.example.com\"]",
            "    tcp_proxy: {cluster: a}",
            "  - name: to-b",
            "    match:",
            "      server_names: [\"b.example.com\", \"*.b.example.com\"]",
            "    tcp_proxy: {cluster: b}",
        ]);
        return yaml;
    }

    /// <summary>A TLS client through the gateway: the certificate it was shown, and the origin's greeting and echo.</summary>
    private static async Task<(X509Certificate2 Certificate, string Greeting, string Echo)> TlsRoundTripAsync(int port, string serverName,
        params string[] alpn)
    {
        using var cts = new CancellationTokenSource(Limit);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        await using var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            ApplicationProtocols = alpn.Length == 0 ? null : alpn.Select(p => new SslApplicationProtocol(p)).ToList(),
        }, cts.Token);
        using var reader = new StreamReader(ssl, Encoding.ASCII, leaveOpen: true);
        string greeting = await reader.ReadLineAsync(cts.Token) ?? "";
        await ssl.WriteAsync("ping\n"u8.ToArray(), cts.Token);
        string echo = await reader.ReadLineAsync(cts.Token) ?? "";
        return (new X509Certificate2(ssl.RemoteCertificate!), greeting, echo);
    }

    [Fact(Timeout = 60_000)]
    public async Task OpensslClient_SniA_GetsOriginACertificate_SniB_GetsOriginB()
    {
        await using var a = new TlsOrigin("a.example.com");
        await using var b = new TlsOrigin("b.example.com");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(PassthroughConfig(a, b, null));

        ToolResult toA = await OpensslAsync(gateway.Port, "a.example.com");
        ToolResult toB = await OpensslAsync(gateway.Port, "v2.b.example.com");

        Assert.Matches(new Regex(@"subject=\s*CN\s*=\s*a\.example\.com"), toA.Stdout);
        Assert.Contains("origin=a.example.com", toA.Stdout);
        Assert.Matches(new Regex(@"subject=\s*CN\s*=\s*b\.example\.com"), toB.Stdout);
        Assert.Contains("origin=b.example.com", toB.Stdout);
        Assert.Equal(1, a.ConnectionCount);
        Assert.Equal(1, b.ConnectionCount);
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_inspector_total{result=\"tls\"}", 2);
    }

    private static Task<ToolResult> OpensslAsync(int port, string serverName) =>
        // -ign_eof keeps reading after stdin ends: the origin greets, echoes the stdin line and closes, which ends
        // the tool with everything printed.
        ExternalTool.RunAsync("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", serverName, "-ign_eof"],
            TimeSpan.FromSeconds(20), "ping\n"u8.ToArray());

    [Fact(Timeout = 60_000)]
    public async Task SslStreamClient_SniRouting_EndToEndTlsEcho_CertificatePerName()
    {
        await using var a = new TlsOrigin("a.example.com");
        await using var b = new TlsOrigin("b.example.com");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(PassthroughConfig(a, b, null));

        var (certA, greetingA, echoA) = await TlsRoundTripAsync(gateway.Port, "A.Example.com");
        var (certB, greetingB, echoB) = await TlsRoundTripAsync(gateway.Port, "x.b.example.com");

        Assert.Equal(a.Certificate.Thumbprint, certA.Thumbprint);
        Assert.Equal("origin=a.example.com alpn=-", greetingA);
        Assert.Equal("echo ping", echoA);
        Assert.Equal(b.Certificate.Thumbprint, certB.Thumbprint);
        Assert.Equal("origin=b.example.com alpn=-", greetingB);
        Assert.Equal("echo ping", echoB);
    }

    [Fact(Timeout = 60_000)]
    public async Task Alpn_SameServerName_ChainChosenByProtocol()
    {
        await using var h2 = new TlsOrigin("h2-origin", "h2");
        await using var h1 = new TlsOrigin("h1-origin", "http/1.1");
        var yaml = new GatewayYaml().Cluster("h2", h2.Address).Cluster("h1", h1.Address);
        yaml.ListenerYaml.AddRange([
            "filter_chains:",
            "  - name: h2",
            "    match: {server_names: [\"api.example.com\"], application_protocols: [\"h2\"]}",
            "    tcp_proxy: {cluster: h2}",
            "  - name: h1",
            "    match: {server_names: [\"api.example.com\"], application_protocols: [\"http/1.1\"]}",
            "    tcp_proxy: {cluster: h1}",
        ]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);

        var (_, viaH2, _) = await TlsRoundTripAsync(gateway.Port, "api.example.com", "h2", "http/1.1");
        var (_, viaH1, _) = await TlsRoundTripAsync(gateway.Port, "api.example.com", "http/1.1");

        Assert.Equal("origin=h2-origin alpn=h2", viaH2);
        Assert.Equal("origin=h1-origin alpn=http/1.1", viaH1);
    }

    [Fact(Timeout = 60_000)]
    public async Task SamePort_PlaintextHttp_ReachesDefaultHttpChain_UnknownSni_AlsoDefault()
    {
        await using var a = new TlsOrigin("a.example.com");
        await using var b = new TlsOrigin("b.example.com");
        await using OriginServer http = await OriginServer.StartAsync("plain");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(PassthroughConfig(a, b, http));

        ToolResult curl = await ExternalTool.CurlAsync([gateway.Url("/hello").ToString()]);
        var (certA, _, _) = await TlsRoundTripAsync(gateway.Port, "a.example.com");

        Assert.True(curl.ExitCode == 0, curl.ToString());
        Assert.Contains("origin=plain", curl.Stdout);
        Assert.Equal(a.Certificate.Thumbprint, certA.Thumbprint);
        // TLS for a name no chain claims goes to the default chain, which speaks plaintext HTTP: the handshake
        // fails there (answered with a 400), and neither TLS origin sees the connection.
        await Assert.ThrowsAnyAsync<Exception>(() => TlsRoundTripAsync(gateway.Port, "c.example.com"));
        Assert.Equal(0, b.ConnectionCount);
        Assert.Equal(1, a.ConnectionCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task HttpFilterChain_BySourceRange_ServedByItsOwnRouteTable()
    {
        await using OriginServer inside = await OriginServer.StartAsync("inside");
        await using OriginServer outside = await OriginServer.StartAsync("outside");
        GatewayYaml yaml = new GatewayYaml().Route("/", "outside").Cluster("outside", outside.Address).Cluster("inside", inside.Address);
        yaml.ListenerYaml.AddRange([
            "filter_chains:",
            "  - name: loopback-clients",
            "    match: {source_prefix_ranges: [\"127.0.0.0/8\"], transport_protocol: raw_buffer}",
            "    virtual_hosts:",
            "      - domains: [\"*\"]",
            "        routes: [{prefix: /, cluster: inside}]",
            "  - name: elsewhere",
            "    match: {source_prefix_ranges: [\"192.0.2.0/24\"]}",
            "    virtual_hosts:",
            "      - domains: [\"*\"]",
            "        routes: [{prefix: /, cluster: outside}]",
        ]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);

        ToolResult first = await ExternalTool.CurlAsync([gateway.Url("/a").ToString(), gateway.Url("/b").ToString()]);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(2, Regex.Matches(first.Stdout, "origin=inside").Count);
        Assert.Equal(0, outside.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task UnknownSni_NoDefaultChain_ConnectionClosedAndCounted()
    {
        await using var a = new TlsOrigin("a.example.com");
        await using var b = new TlsOrigin("b.example.com");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(PassthroughConfig(a, b, null));

        await Assert.ThrowsAnyAsync<Exception>(() => TlsRoundTripAsync(gateway.Port, "nobody.example.org"));

        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_listener_no_filter_chain_match_total{listener=\"main\"}", 1);
        Assert.Equal(0, a.ConnectionCount + b.ConnectionCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task TlsInspector_ClientSendsNothing_ClosedAtListenerFiltersTimeout()
    {
        await using var a = new TlsOrigin("a.example.com");
        await using var b = new TlsOrigin("b.example.com");
        GatewayYaml yaml = PassthroughConfig(a, b, null);
        yaml.ListenerYaml.Add("listener_filters_timeout: 500ms");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gateway.Port));
        await client.SendAsync(new byte[] { 22, 3, 1 }); // the start of a record header, then silence

        var waited = System.Diagnostics.Stopwatch.StartNew();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = await client.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token);

        Assert.Equal(0, n);
        Assert.InRange(waited.Elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(5));
        await TcpProxyTests.WaitForMetricAsync(gateway, "fastpath_tls_inspector_total{result=\"timeout\"}", 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task TlsInspector_ServerSpeaksFirst_ContinueOnTimeout_RawChainServes()
    {
        // A server-first protocol (SMTP, MySQL) behind a port that also passes TLS through: the client waits for a
        // greeting, so the inspector sees nothing; with continue_on_listener_filters_timeout the connection goes on
        // as raw_buffer after the timeout and reaches the raw chain's origin.
        await using var tls = new TlsOrigin("a.example.com");
        await using var smtp = new RawOrigin(async c =>
        {
            await c.WriteAsync("220 smtp ready\n");
            await c.ReadHeadAsync();
        });
        var yaml = new GatewayYaml().Cluster("tls", tls.Address).Cluster("smtp", smtp.Address);
        yaml.ListenerYaml.AddRange([
            "listener_filters_timeout: 300ms",
            "continue_on_listener_filters_timeout: true",
            "filter_chains:",
            "  - name: tls",
            "    match: {server_names: [\"a.example.com\"]}",
            "    tcp_proxy: {cluster: tls}",
            "  - name: raw",
            "    match: {transport_protocol: raw_buffer}",
            "    tcp_proxy: {cluster: smtp}",
        ]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, gateway.Port);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        using var cts = new CancellationTokenSource(Limit);

        var waited = System.Diagnostics.Stopwatch.StartNew();
        string? greeting = await reader.ReadLineAsync(cts.Token);

        Assert.Equal("220 smtp ready", greeting);
        Assert.True(waited.Elapsed >= TimeSpan.FromMilliseconds(200), $"greeting after {waited.Elapsed}: before the inspector's timeout?");
        var (cert, _, _) = await TlsRoundTripAsync(gateway.Port, "a.example.com");
        Assert.Equal(tls.Certificate.Thumbprint, cert.Thumbprint);
    }

    [Fact(Timeout = 60_000)]
    public async Task Startup_FilterChainMistakes_ExitCode2_ErrorsNameFieldPaths()
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastpath-e2e", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "bad.yaml");
        await File.WriteAllTextAsync(path, """
            admin: {port: 0}
            listeners:
              - name: edge
                port: 18443
                filter_chains:
                  - name: one
                    match: {server_names: ["a.example.com"]}
                    tcp_proxy: {cluster: nope}
                  - name: two
                    match: {server_names: ["a.example.com"]}
                    tcp_proxy: {cluster: a}
                  - name: three
                    match: {source_prefix_ranges: ["10.0.0.0/40"]}
                    tcp_proxy: {cluster: a}
            clusters:
              - name: a
                endpoints: ["127.0.0.1:9001"]
            """);

        ToolResult run = await GatewayProcess.RunToExitAsync(["--config", path], TimeSpan.FromSeconds(30));

        Assert.True(run.ExitCode == 2, run.ToString());
        string file = Regex.Escape(path);
        Assert.Matches(new Regex(file + @":8:\d+: listeners\[0\]\.filter_chains\[0\]\.tcp_proxy\.cluster: unknown cluster 'nope'"), run.Stderr);
        Assert.Matches(new Regex(file + @":13:\d+: listeners\[0\]\.filter_chains\[2\]\.match\.source_prefix_ranges\[0\]: invalid CIDR range"), run.Stderr);
        Assert.Matches(new Regex(file + @":10:\d+: listeners\[0\]\.filter_chains\[1\]\.match: matches the same connections as filter chain 'one'"), run.Stderr);
        Directory.Delete(dir, recursive: true);
    }
}
