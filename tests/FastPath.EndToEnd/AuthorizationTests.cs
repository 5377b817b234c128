// AuthorizationPolicy through the real gateway process: curl gets 403 "RBAC: access denied" for a denied request
// and the origin never sees it, allowed requests reach the origin, the access log and metrics name the deciding
// policy; tcp_proxy connections denied by ipBlocks or ports are closed before any upstream connect; a reload swaps
// policies under a live keep-alive connection, and an invalid policy is rejected with the old ones still enforced.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class AuthorizationTests
{
    private static readonly string[] DenyAdminAllowGet =
    [
        "authorization_policies:",
        "  - name: deny-admin",
        "    action: DENY",
        "    rules:",
        "      - to: [{operation: {paths: [\"/admin/*\"]}}]",
        "  - name: allow-get",
        "    rules:",
        "      - to: [{operation: {methods: [GET, HEAD]}}]",
        "        when: [{key: source.ip, values: [\"127.0.0.0/8\"]}]",
    ];

    private static Task<double> MetricAsync(GatewayProcess gateway, string series) => TcpProxyTests.MetricAsync(gateway, series);

    private static async Task<(int Status, string Body)> CurlAsync(GatewayProcess gateway, string method, string path, params string[] extra)
    {
        ToolResult r = await ExternalTool.RunAsync("curl",
            ["-s", "-X", method, "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", .. extra, gateway.Url(path).ToString()], TimeSpan.FromSeconds(20));
        Assert.True(r.ExitCode == 0, r.ToString());
        int cut = r.Stdout.LastIndexOf('\n');
        return (int.Parse(r.Stdout[(cut + 1)..], CultureInfo.InvariantCulture), r.Stdout[..cut]);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(50);
        }
        Assert.Fail($"timed out waiting for {what}");
    }

    [Fact(Timeout = 60_000)]
    public async Task Curl_DeniedAndAllowedRequests_403BodyOriginUntouched_LogAndMetricsNamePolicy()
    {
        ExternalTool.Require("curl");
        await using OriginServer origin = await OriginServer.StartAsync("web");
        var yaml = new GatewayYaml().Route("/", "web").Cluster("web", origin.Address);
        yaml.RootYaml.AddRange(DenyAdminAllowGet);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml, accessLog: true);

        (int adminStatus, string adminBody) = await CurlAsync(gateway, "GET", "/admin/users");
        (int postStatus, string postBody) = await CurlAsync(gateway, "POST", "/orders");
        Assert.Equal(0, origin.RequestCount);
        (int okStatus, _) = await CurlAsync(gateway, "GET", "/orders?id=1");

        Assert.Equal((403, "RBAC: access denied"), (adminStatus, adminBody));
        Assert.Equal((403, "RBAC: access denied"), (postStatus, postBody)); // no ALLOW policy matched
        Assert.Equal(200, okStatus);
        Assert.Equal(1, origin.RequestCount);
        Assert.Equal("/orders?id=1", origin.LastRequest!.PathAndQuery);

        var denied = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/admin/users");
        Assert.Equal(403, denied.GetProperty("status").GetInt32());
        Assert.Equal("rbac_access_denied_matched_policy[deny-admin]", denied.GetProperty("response_code_details").GetString());
        Assert.Equal("", denied.GetProperty("upstream_cluster").GetString() ?? "");
        var post = await gateway.WaitForAccessLogAsync(e => e.GetProperty("method").GetString() == "POST");
        Assert.Equal("rbac_access_denied_matched_policy[none]", post.GetProperty("response_code_details").GetString());
        var ok = await gateway.WaitForAccessLogAsync(e => e.GetProperty("status").GetInt32() == 200);
        Assert.False(ok.TryGetProperty("response_code_details", out _));

        Assert.Equal(1, await MetricAsync(gateway, "fastpath_rbac_decisions_total{policy=\"deny-admin\",decision=\"denied\",protocol=\"http\"}"));
        Assert.Equal(1, await MetricAsync(gateway, "fastpath_rbac_decisions_total{policy=\"none\",decision=\"denied\",protocol=\"http\"}"));
        Assert.Equal(1, await MetricAsync(gateway, "fastpath_rbac_decisions_total{policy=\"allow-get\",decision=\"allowed\",protocol=\"http\"}"));
    }

    [Fact(Timeout = 60_000)]
    public async Task CurlHttp2_StreamsJudgedWithTheConnectionsAddresses_DeniedStream403_AllowedReachesOrigin()
    {
        // HTTP/2 streams run on per-stream processors; ip_blocks must still see the TCP peer (127.0.0.1).
        ExternalTool.Require("curl");
        await using OriginServer origin = await OriginServer.StartAsync("web");
        var yaml = new GatewayYaml().Route("/", "web").Cluster("web", origin.Address);
        yaml.RootYaml.AddRange([
            "authorization_policies:",
            "  - name: deny-local-admin",
            "    action: DENY",
            "    rules:",
            "      - from: [{source: {ip_blocks: [\"127.0.0.0/8\"]}}]",
            "        to: [{operation: {paths: [\"/admin/*\"]}}]",
        ]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);

        (int deniedStatus, string deniedBody) = await CurlAsync(gateway, "GET", "/admin/x", "--http2-prior-knowledge");
        (int okStatus, _) = await CurlAsync(gateway, "GET", "/public", "--http2-prior-knowledge");

        Assert.Equal((403, "RBAC: access denied"), (deniedStatus, deniedBody));
        Assert.Equal(200, okStatus);
        Assert.Equal("/public", Assert.Single(origin.Requests).PathAndQuery);
    }

    [Fact(Timeout = 60_000)]
    public async Task Mtls_PrincipalsAndNamespaces_FromVerifiedClientCertificates()
    {
        ExternalTool.Require("curl");
        using var pki = new TestPki();
        Issued server = pki.IssueWorkload("backend", "default", "backend", dnsNames: MutualTlsTests.MeshHost);
        Issued sleep = pki.IssueWorkload("sleep", "shop", "sleep");
        Issued intruder = pki.IssueWorkload("intruder", "dev", "sleep");
        await using OriginServer origin = await OriginServer.StartAsync("web");
        GatewayYaml yaml = MutualTlsTests.MeshGateway(pki, server, "PERMISSIVE", origin);
        yaml.RootYaml.AddRange([
            "authorization_policies:",
            "  - name: allow-shop-sleep",
            "    rules:",
            "      - from: [{source: {principals: [\"cluster.local/ns/shop/sa/sleep\"]}}]",
            "        to: [{operation: {paths: [\"/api/*\"]}}]",
            "  - name: deny-dev",
            "    action: DENY",
            "    rules: [{from: [{source: {namespaces: [\"dev\"]}}]}]",
        ]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml, accessLog: true);

        ToolResult allowed = await MutualTlsTests.CurlMtlsAsync(pki, gateway.Port, sleep, "/api/orders");
        ToolResult wrongPath = await MutualTlsTests.CurlMtlsAsync(pki, gateway.Port, sleep, "/admin");
        ToolResult fromDev = await MutualTlsTests.CurlMtlsAsync(pki, gateway.Port, intruder, "/api/orders");
        (int plaintext, _) = await CurlAsync(gateway, "GET", "/api/orders"); // PERMISSIVE: served, but no principal

        Assert.True(allowed.Stdout == "200", allowed.ToString());
        Assert.True(wrongPath.Stdout == "403", wrongPath.ToString());
        Assert.True(fromDev.Stdout == "403", fromDev.ToString());
        Assert.Equal(403, plaintext);
        Assert.Equal("/api/orders", Assert.Single(origin.Requests).PathAndQuery);
        var dev = await gateway.WaitForAccessLogAsync(e => e.TryGetProperty("response_code_details", out var d)
            && d.GetString() == "rbac_access_denied_matched_policy[deny-dev]");
        Assert.Equal("cluster.local/ns/dev/sa/sleep", dev.GetProperty("downstream_peer_principal").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task KeepAlive_DeniedRequestThenAllowed_SameConnectionServesBoth()
    {
        await using OriginServer origin = await OriginServer.StartAsync("web");
        var yaml = new GatewayYaml().Route("/", "web").Cluster("web", origin.Address);
        yaml.RootYaml.AddRange(DenyAdminAllowGet);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        await using RawHttpConnection conn = await RawHttpConnection.ConnectAsync(gateway.Port);

        RawResponse denied = await conn.RoundTripAsync(RawHttpConnection.Get("/admin/x"));
        RawResponse allowed = await conn.RoundTripAsync(RawHttpConnection.Get("/public"));

        Assert.Equal(403, denied.Status);
        Assert.Equal("text/plain", denied.Header("content-type"));
        Assert.False(denied.ConnectionClose);
        Assert.Equal(200, allowed.Status);
        Assert.Equal("web", allowed.Header("x-origin-id"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Reload_PoliciesSwappedUnderLiveConnection_InvalidPolicyRejected_OldStillEnforced()
    {
        await using OriginServer origin = await OriginServer.StartAsync("web");
        var yaml = new GatewayYaml().Route("/", "web").Cluster("web", origin.Address);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        await using RawHttpConnection conn = await RawHttpConnection.ConnectAsync(gateway.Port);
        Assert.Equal(200, (await conn.RoundTripAsync(RawHttpConnection.Get("/secret"))).Status);
        long version = await gateway.ConfigVersionAsync();

        yaml.RootYaml.AddRange([
            "authorization_policies:",
            "  - name: deny-secret",
            "    action: DENY",
            "    rules: [{to: [{operation: {paths: [\"/secret\"]}}]}]",
        ]);
        gateway.RewriteConfig(yaml.Render());
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, "the reload with a policy");

        (_, string dump) = await gateway.AdminGetAsync("/config_dump");
        Assert.Contains("\"name\": \"deny-secret\"", dump);
        Assert.Contains("\"/secret\"", dump);

        // The keep-alive connection opened before the reload gets the new policy on its next request.
        RawResponse denied = await conn.RoundTripAsync(RawHttpConnection.Get("/secret"));
        Assert.Equal(403, denied.Status);
        Assert.Equal("RBAC: access denied", denied.BodyText);
        Assert.Equal(200, (await conn.RoundTripAsync(RawHttpConnection.Get("/open"))).Status);

        long reloaded = await gateway.ConfigVersionAsync();
        string invalid = yaml.Render().Replace("action: DENY", "action: CUSTOM", StringComparison.Ordinal);
        gateway.RewriteConfig(invalid);
        await WaitUntilAsync(async () => await MetricAsync(gateway, "fastpath_config_reloads_total{result=\"rejected\"}") >= 1,
            "the invalid policy to be rejected");

        Assert.Equal(reloaded, await gateway.ConfigVersionAsync());
        await gateway.WaitForOutputAsync("CUSTOM (external authorization) is not supported");
        Assert.Contains("CUSTOM (external authorization) is not supported", gateway.Stderr, StringComparison.Ordinal);
        await gateway.WaitForOutputAsync("authorization_policies[0].action");
        Assert.Contains("authorization_policies[0].action", gateway.Stderr, StringComparison.Ordinal);
        Assert.Equal(403, (await conn.RoundTripAsync(RawHttpConnection.Get("/secret"))).Status);
        Assert.Equal(200, (await conn.RoundTripAsync(RawHttpConnection.Get("/open"))).Status);
    }

    private static GatewayYaml TcpChain(RawOrigin origin, params string[] policies)
    {
        var yaml = new GatewayYaml().Cluster("echo", [origin.Address]);
        yaml.ListenerYaml.AddRange(["filter_chains:", "  - name: tcp", "    tcp_proxy:", "      cluster: echo"]);
        yaml.RootYaml.AddRange(policies);
        return yaml;
    }

    private static RawOrigin Echo() => new(async c =>
    {
        byte[] buffer = new byte[4096];
        while (true)
        {
            int n = await c.Socket.ReceiveAsync(buffer, SocketFlags.None, c.Token);
            if (n == 0) break;
            await c.WriteAsync(buffer[..n]);
        }
        c.Close();
    });

    /// <summary>Connects, sends a line, and returns what came back before the gateway closed (or the echo).</summary>
    private static async Task<string> ExchangeAsync(int port, bool expectClose)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        }
        catch (SocketException) when (expectClose)
        {
            return ""; // denied and closed before the client's connect completed (seen as EPIPE)
        }
        try
        {
            await socket.SendAsync("ping\n"u8.ToArray(), SocketFlags.None);
        }
        catch (SocketException)
        {
            return ""; // already closed by the gateway
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        byte[] buffer = new byte[64];
        var received = new List<byte>();
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                break;
            }
            if (n == 0) break;
            received.AddRange(buffer[..n]);
            if (!expectClose && received.Count >= 5) break;
        }
        return System.Text.Encoding.ASCII.GetString([.. received]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Tcp_DeniedByIpBlocks_ClosedBeforeUpstream_CountedAndLogged()
    {
        await using RawOrigin origin = Echo();
        GatewayYaml yaml = TcpChain(origin,
            "authorization_policies:",
            "  - name: deny-loopback",
            "    action: DENY",
            "    rules: [{from: [{source: {ip_blocks: [\"127.0.0.1/32\"]}}]}]");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml, accessLog: true);

        string reply = await ExchangeAsync(gateway.Port, expectClose: true);

        Assert.Equal("", reply);
        Assert.Equal(0, origin.ConnectionCount);
        var line = await gateway.WaitForAccessLogAsync(e => e.GetProperty("virtual_host").GetString() == "tcp");
        Assert.Equal("rbac_access_denied_matched_policy[deny-loopback]", line.GetProperty("response_code_details").GetString());
        Assert.Equal(1, await MetricAsync(gateway, "fastpath_rbac_decisions_total{policy=\"deny-loopback\",decision=\"denied\",protocol=\"tcp\"}"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Tcp_AllowOnlyOtherPort_Denied_AllowThisPortWithMethods_Denied_AllowThisPortProxies()
    {
        await using RawOrigin origin = Echo();
        // 1. ALLOW only port 1: this listener's connections match no ALLOW policy.
        GatewayYaml yaml = TcpChain(origin,
            "authorization_policies:",
            "  - name: allow-other-port",
            "    rules: [{to: [{operation: {ports: [\"1\"]}}]}]");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        Assert.Equal("", await ExchangeAsync(gateway.Port, expectClose: true));
        Assert.Equal(0, origin.ConnectionCount);
        Assert.Equal(1, await MetricAsync(gateway, "fastpath_rbac_decisions_total{policy=\"none\",decision=\"denied\",protocol=\"tcp\"}"));

        // 2. ALLOW this port but with an HTTP-only field: Istio never matches it for TCP.
        long version = await gateway.ConfigVersionAsync();
        yaml.RootYaml.Clear();
        yaml.RootYaml.AddRange([
            "authorization_policies:",
            "  - name: allow-port-get",
            $"    rules: [{{to: [{{operation: {{ports: [\"{gateway.Port}\"], methods: [GET]}}}}]}}]",
        ]);
        gateway.RewriteConfig(yaml.Render());
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, "the reload");
        Assert.Equal("", await ExchangeAsync(gateway.Port, expectClose: true));
        Assert.Equal(0, origin.ConnectionCount);

        // 3. ALLOW this port: proxied to the echo origin.
        version = await gateway.ConfigVersionAsync();
        yaml.RootYaml[2] = $"    rules: [{{to: [{{operation: {{ports: [\"{gateway.Port}\"]}}}}]}}]";
        gateway.RewriteConfig(yaml.Render());
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, "the reload");
        Assert.Equal("ping\n", await ExchangeAsync(gateway.Port, expectClose: false));
        Assert.Equal(1, origin.ConnectionCount);
        Assert.Equal(1, await MetricAsync(gateway, "fastpath_rbac_decisions_total{policy=\"allow-port-get\",decision=\"allowed\",protocol=\"tcp\"}"));
    }
}
