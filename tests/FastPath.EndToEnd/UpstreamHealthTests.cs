// Upstream health end to end, with the real gateway and real origins: active HTTP and TCP health checks take an
// endpoint out of rotation and back, outlier detection ejects an endpoint that answers 503 and returns it after the
// ejection time, and a priority-1 endpoint takes the traffic while priority 0 fails its checks. Timings are short
// in config and generous in the waits, so a busy machine slows the tests down rather than failing them.
using System.Text.Json;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class UpstreamHealthTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private const string FastHttpCheck =
        "health_check: {http: {path: /healthz}, interval: 200ms, timeout: 1s, healthy_threshold: 2, unhealthy_threshold: 2}";

    private static async Task<string> OriginOfAsync(RawHttpConnection client, string path)
    {
        RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get(path));
        Assert.Equal(200, r.Status);
        return r.Header("x-origin-id") ?? "?";
    }

    /// <summary>Polls until <paramref name="condition"/> holds, or fails naming what was awaited.</summary>
    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(100);
        }
        Assert.Fail($"not within {Patience.TotalSeconds}s: {what}");
    }

    /// <summary>The endpoint's entry in /clusters.</summary>
    private static async Task<JsonElement> EndpointStateAsync(GatewayProcess gateway, string cluster, string address)
    {
        (_, string body) = await gateway.AdminGetAsync("/clusters");
        using JsonDocument doc = JsonDocument.Parse(body);
        foreach (JsonElement c in doc.RootElement.GetProperty("clusters").EnumerateArray())
        {
            if (c.GetProperty("name").GetString() != cluster) continue;
            foreach (JsonElement e in c.GetProperty("endpoints").EnumerateArray())
                if (e.GetProperty("address").GetString() == address) return e.Clone();
        }
        throw new InvalidOperationException($"{cluster}/{address} not in /clusters:\n{body}");
    }

    private static async Task<string[]> FlagsAsync(GatewayProcess gateway, string cluster, string address) =>
        [.. (await EndpointStateAsync(gateway, cluster, address)).GetProperty("health_flags").EnumerateArray().Select(f => f.GetString()!)];

    [Fact(Timeout = 90_000)]
    public async Task HttpHealthCheck_Http2Cluster_ProbesSpeakHttp2ToAnH2cOnlyOrigin()
    {
        // Kestrel serving HTTP/2 only (h2c): an HTTP/1.1 probe cannot get a status from it, so a protocol: http2
        // cluster's checks speak HTTP/2 by default (Envoy's codec_client_type, which can still force HTTP1).
        await using OriginServer origin = await OriginServer.StartAsync("h2c", http2: true);
        const string Timing = "interval: 200ms, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 1";
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/ok/", "h2").Route("/bad/", "h2bad").Route("/h1/", "h1codec")
            .Cluster("h2", [origin.Address], "protocol: http2", $"health_check: {{http: {{path: /healthz}}, {Timing}}}")
            .Cluster("h2bad", [origin.Address], "protocol: http2", $"health_check: {{http: {{path: \"/status?code=503\"}}, {Timing}}}")
            .Cluster("h1codec", [origin.Address], "protocol: http2",
                $"health_check: {{http: {{path: /h1-probe, codec_client_type: HTTP1}}, {Timing}}}"));

        await EventuallyAsync(async () => (await FlagsAsync(gateway, "h2bad", origin.Address)).Contains("failed_active_hc"),
            "h2bad marked failed_active_hc by an HTTP/2 503");
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "h1codec", origin.Address)).Contains("failed_active_hc"),
            "h1codec marked failed_active_hc: HTTP/1.1 to an h2c-only origin");
        await EventuallyAsync(() => Task.FromResult(origin.Requests.Count(r => r.PathAndQuery == "/healthz") >= 3), "3 HTTP/2 checks of /healthz");
        Assert.Empty(await FlagsAsync(gateway, "h2", origin.Address));
        OriginRequest check = origin.Requests.First(r => r.PathAndQuery == "/healthz");
        Assert.Equal("HTTP/2", check.Protocol);
        Assert.Equal("GET", check.Method);
        Assert.Equal("FastPath-HealthChecker", check.Headers["user-agent"]);
        Assert.Equal("h2", check.Headers["host"]); // :authority defaults to the cluster name, as Envoy's host does
        Assert.DoesNotContain(origin.Requests, r => r.PathAndQuery == "/h1-probe"); // the HTTP/1.1 probe never made a request

        // The checked cluster serves over HTTP/2. (The failed ones would too: a cluster with every endpoint failing
        // is in Envoy's panic mode and routes to all of them.)
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get("/ok/1"))).Status);
        Assert.Equal("HTTP/2", origin.LastRequest!.Protocol);
    }

    [Fact(Timeout = 90_000)]
    public async Task Http2AndGrpcHealthChecks_OverTls_NegotiateH2ByAlpn()
    {
        // The HTTP/2 and gRPC probes over TLS (SIMPLE, verified): ALPN offers only h2. A TLS origin speaking h2 and a
        // gRPC service are healthy; one that speaks only HTTP/1.1 fails its HTTP/2 check (no h2 by ALPN).
        using var pki = new TestPki();
        const string Host = "hc.origin.test";
        var tls = new OriginTls(pki.Issue("hc", [Host]));
        await using OriginServer h2 = await OriginServer.StartAsync("h2tls", http2: true, tls);
        await using OriginServer h1 = await OriginServer.StartAsync("h1tls", http2: false, tls);
        await using GrpcOrigin grpc = await GrpcOrigin.StartAsync("gtls", tls);
        string simple = $"tls: {{mode: SIMPLE, sni: {Host}, trust_bundle: {pki.CaFile}}}";
        const string Timing = "interval: 200ms, timeout: 2s, healthy_threshold: 1, unhealthy_threshold: 1";
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/h2/", "h2").Route("/h1/", "h1").Route("/grpc/", "grpc")
            .Cluster("h2", [h2.Address], "protocol: http2", simple, $"health_check: {{http: {{path: /healthz}}, {Timing}}}")
            .Cluster("h1", [h1.Address], "protocol: http1", simple,
                $"health_check: {{http: {{path: /healthz, codec_client_type: HTTP2}}, {Timing}}}")
            .Cluster("grpc", [grpc.Address], "protocol: http2", simple, $"health_check: {{grpc: {{}}, {Timing}}}"));

        await EventuallyAsync(async () => (await FlagsAsync(gateway, "h1", h1.Address)).Contains("failed_active_hc"),
            "the HTTP/1.1-only TLS origin fails its HTTP/2 check");
        await EventuallyAsync(() => Task.FromResult(h2.Requests.Count(r => r.PathAndQuery == "/healthz") >= 2), "2 checks over h2");
        OriginRequest check = h2.Requests.First(r => r.PathAndQuery == "/healthz");
        Assert.Equal("HTTP/2", check.Protocol);
        Assert.Empty(await FlagsAsync(gateway, "h2", h2.Address));
        Assert.Empty(await FlagsAsync(gateway, "grpc", grpc.Address));
        Assert.DoesNotContain(h1.Requests, r => r.PathAndQuery == "/healthz");
    }

    [Fact(Timeout = 90_000)]
    public async Task GrpcHealthCheck_ServingStatusOfEachService_DecidesAndFollowsChanges()
    {
        // The standard grpc.health.v1 service (Grpc.HealthCheck on Kestrel, h2c): "" is SERVING, echo.Echo starts
        // NOT_SERVING, "missing" is unknown to it (NOT_FOUND). Envoy's grpc_health_check asks each cluster's service.
        await using GrpcOrigin origin = await GrpcOrigin.StartAsync("g");
        origin.Health.SetStatus("echo.Echo", global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing);
        const string Timing = "interval: 200ms, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 1";
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/server/", "server").Route("/echo.Echo/", "echo").Route("/missing/", "missing")
            .Cluster("server", [origin.Address], "protocol: http2", $"health_check: {{grpc: {{}}, {Timing}}}")
            .Cluster("echo", [origin.Address], "protocol: http2", $"health_check: {{grpc: {{service_name: echo.Echo}}, {Timing}}}")
            .Cluster("missing", [origin.Address], "protocol: http2",
                $"health_check: {{grpc: {{service_name: missing, authority: health.test}}, {Timing}}}"));

        await EventuallyAsync(async () => (await FlagsAsync(gateway, "echo", origin.Address)).Contains("failed_active_hc"),
            "echo (NOT_SERVING) marked failed_active_hc");
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "missing", origin.Address)).Contains("failed_active_hc"),
            "missing (NOT_FOUND) marked failed_active_hc");
        Assert.Empty(await FlagsAsync(gateway, "server", origin.Address));
        await gateway.WaitForOutputAsync("health status NOT_SERVING");
        Assert.Contains("health status NOT_SERVING", gateway.Stdout + gateway.Stderr, StringComparison.Ordinal);
        await gateway.WaitForOutputAsync("grpc-status 5");
        Assert.Contains("grpc-status 5", gateway.Stdout + gateway.Stderr, StringComparison.Ordinal);

        // The service comes up: the next check passes and the endpoint is back.
        origin.Health.SetStatus("echo.Echo", global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "echo", origin.Address)).Length == 0, "echo healthy once SERVING");
        Assert.Contains("failed_active_hc", await FlagsAsync(gateway, "missing", origin.Address));
    }

    [Fact(Timeout = 90_000)]
    public async Task HttpHealthCheck_HealthzReturns503_TrafficOnlyToOtherThenBack()
    {
        await using var a = new SwitchableOrigin("a");
        await using var b = new SwitchableOrigin("b");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [a.Address, b.Address], "lb_policy: round_robin", FastHttpCheck));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        // Healthy from the start: both serve, and checks arrive.
        var seen = new HashSet<string>();
        for (int i = 0; i < 10; i++) seen.Add(await OriginOfAsync(client, $"/x/{i}"));
        Assert.Equal(["a", "b"], seen.Order());
        await EventuallyAsync(() => Task.FromResult(a.HealthChecks > 0 && b.HealthChecks > 0), "health checks reach both origins");

        a.HealthStatus = 503;
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "main", a.Address)).Contains("failed_active_hc"), "a marked failed_active_hc");
        int before = a.Requests;
        for (int i = 0; i < 20; i++) Assert.Equal("b", await OriginOfAsync(client, $"/y/{i}"));
        Assert.Equal(before, a.Requests);

        a.HealthStatus = 200;
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "main", a.Address)).Length == 0, "a healthy again");
        seen.Clear();
        for (int i = 0; i < 10; i++) seen.Add(await OriginOfAsync(client, $"/z/{i}"));
        Assert.Equal(["a", "b"], seen.Order());
        await gateway.WaitForOutputAsync("failed active health checks");
        Assert.Contains("failed active health checks", gateway.Stdout + gateway.Stderr, StringComparison.Ordinal);
    }

    [Fact(Timeout = 90_000)]
    public async Task TcpHealthCheck_ClosedPort_EndpointOutOfRotation()
    {
        int closed = Ports.GetClosed();
        await using var b = new SwitchableOrigin("b");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [$"127.0.0.1:{closed}", b.Address], "lb_policy: round_robin",
                "health_check: {tcp: {}, interval: 200ms, timeout: 1s}"));

        // The first probe of an endpoint decides at once: the closed port is out within a probe or two.
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "main", $"127.0.0.1:{closed}")).Contains("failed_active_hc"), "closed port marked unhealthy");
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        for (int i = 0; i < 20; i++) Assert.Equal("b", await OriginOfAsync(client, $"/t/{i}"));
        Assert.Empty(await FlagsAsync(gateway, "main", b.Address));
    }

    [Fact(Timeout = 90_000)]
    public async Task OutlierDetection_Consecutive503s_EjectedThenReturnsAfterEjectionTime()
    {
        await using var a = new SwitchableOrigin("a") { TrafficStatus = 503 };
        await using var b = new SwitchableOrigin("b");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [a.Address, b.Address], "lb_policy: round_robin",
                "outlier_detection: {consecutive_5xx: 3, interval: 200ms, base_ejection_time: 2s, max_ejection_percent: 50}"));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        // Round robin alternates: a answers 503 three times, and is ejected on the third.
        int fails = 0;
        for (int i = 0; i < 6; i++)
            if ((await client.RoundTripAsync(RawHttpConnection.Get($"/o/{i}"))).Status == 503) fails++;
        Assert.Equal(3, fails);
        Assert.Equal(3, a.Requests);
        JsonElement state = await EndpointStateAsync(gateway, "main", a.Address);
        Assert.Contains("failed_outlier_check", state.GetProperty("health_flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(1, state.GetProperty("ejections_total").GetInt32());
        for (int i = 0; i < 10; i++) Assert.Equal("b", await OriginOfAsync(client, $"/p/{i}"));
        Assert.Equal(3, a.Requests);

        a.TrafficStatus = 200;
        // Ejected for 2 s x 1, returned by the next 200 ms sweep.
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "main", a.Address)).Length == 0, "a returns from ejection");
        var seen = new HashSet<string>();
        for (int i = 0; i < 10; i++) seen.Add(await OriginOfAsync(client, $"/q/{i}"));
        Assert.Equal(["a", "b"], seen.Order());
        await gateway.WaitForOutputAsync("ejected as an outlier");
        Assert.Contains("ejected as an outlier", gateway.Stdout + gateway.Stderr, StringComparison.Ordinal);
    }

    [Fact(Timeout = 90_000)]
    public async Task OutlierDetection_ResponsesCutMidBody_CountAsFailures_Ejected()
    {
        // Envoy counts a reset after the head as a failure of the endpoint: a 200 head whose body never completes
        // must not look like a success.
        int served = 0;
        await using var cut = new RawOrigin(async c =>
        {
            await c.ReadHeadAsync();
            Interlocked.Increment(ref served);
            await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nx-origin-id: cut\r\n\r\n0123456789");
        });
        await using var b = new SwitchableOrigin("b");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [cut.Address, b.Address], "lb_policy: round_robin",
                "outlier_detection: {consecutive_5xx: 3, interval: 200ms, base_ejection_time: 30s, max_ejection_percent: 50}"));

        // Round robin alternates; each cut response ends its client connection, so every request gets its own.
        for (int i = 0; i < 6; i++)
        {
            await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
            try
            {
                await client.RoundTripAsync(RawHttpConnection.Get($"/c/{i}"));
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException or EndOfStreamException)
            {
                // the truncated response
            }
        }

        Assert.Equal(3, Volatile.Read(ref served));
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "main", cut.Address)).Contains("failed_outlier_check"), "cut endpoint ejected");
        await using RawHttpConnection next = await RawHttpConnection.ConnectAsync(gateway.Port);
        for (int i = 0; i < 6; i++) Assert.Equal("b", await OriginOfAsync(next, $"/n/{i}"));
        Assert.Equal(3, Volatile.Read(ref served));
    }

    [Fact(Timeout = 90_000)]
    public async Task Priorities_P0FailsHealthChecks_TrafficFailsOverToP1AndBack()
    {
        await using var p0a = new SwitchableOrigin("p0a");
        await using var p0b = new SwitchableOrigin("p0b");
        await using var p1 = new SwitchableOrigin("p1");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [
                $"{{address: \"{p0a.Address}\", locality: us-east1/us-east1-b}}",
                $"{{address: \"{p0b.Address}\", locality: us-east1/us-east1-c}}",
                $"{{address: \"{p1.Address}\", priority: 1, locality: us-west1/us-west1-a}}",
            ], "lb_policy: round_robin", FastHttpCheck));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        for (int i = 0; i < 20; i++) Assert.StartsWith("p0", await OriginOfAsync(client, $"/a/{i}"));
        Assert.Equal(0, p1.Requests);
        JsonElement p1State = await EndpointStateAsync(gateway, "main", p1.Address);
        Assert.Equal((1, "us-west1/us-west1-a"), (p1State.GetProperty("priority").GetInt32(), p1State.GetProperty("locality").GetString()));

        p0a.HealthStatus = 503;
        p0b.HealthStatus = 503;
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "main", p0a.Address)).Length > 0
                                          && (await FlagsAsync(gateway, "main", p0b.Address)).Length > 0, "both priority-0 endpoints unhealthy");
        for (int i = 0; i < 20; i++) Assert.Equal("p1", await OriginOfAsync(client, $"/b/{i}"));

        p0a.HealthStatus = 200;
        p0b.HealthStatus = 200;
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "main", p0a.Address)).Length == 0
                                          && (await FlagsAsync(gateway, "main", p0b.Address)).Length == 0, "priority 0 healthy again");
        int p1Before = p1.Requests;
        for (int i = 0; i < 20; i++) Assert.StartsWith("p0", await OriginOfAsync(client, $"/c/{i}"));
        Assert.Equal(p1Before, p1.Requests);
    }

    [Fact(Timeout = 90_000)]
    public async Task Reload_UnchangedUnhealthyEndpoint_StaysOutOfRotation()
    {
        await using var a = new SwitchableOrigin("a") { HealthStatus = 503 };
        await using var b = new SwitchableOrigin("b");
        // healthy_threshold 1000: once marked, a stays out for the whole test unless a reload forgot its state (a
        // fresh endpoint starts healthy and its first probe, now passing, would keep it in).
        GatewayYaml yaml = new GatewayYaml().Route("/", "main").Cluster("main", [a.Address, b.Address], "lb_policy: round_robin",
            "health_check: {http: {path: /healthz}, interval: 200ms, timeout: 1s, healthy_threshold: 1000, unhealthy_threshold: 1}");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        await EventuallyAsync(async () => (await FlagsAsync(gateway, "main", a.Address)).Contains("failed_active_hc"), "a marked unhealthy");
        a.HealthStatus = 200;
        long version = await gateway.ConfigVersionAsync();

        gateway.RewriteConfig(yaml.Route("/other", "other").Cluster("other", b.Address).Render());
        await EventuallyAsync(async () => await gateway.ConfigVersionAsync() > version, "the reload");
        int checks = a.HealthChecks;
        await EventuallyAsync(() => Task.FromResult(a.HealthChecks >= checks + 3), "checks continue after the reload");

        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        for (int i = 0; i < 20; i++) Assert.Equal("b", await OriginOfAsync(client, $"/r/{i}"));
        Assert.Contains("failed_active_hc", await FlagsAsync(gateway, "main", a.Address));
    }
}
